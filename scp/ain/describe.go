package ain

import (
	"encoding/hex"
	"strconv"
	"strings"

	"callgate/sigtran/ber"
)

// Field is one parameter of a Description: its ASN.1 name and a value for
// people ("+13035550100 (noa national, np isdn)").
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Description is an operation (or error) rendered for `sspsim call` text and
// --json output: its name, code and parameters in the order received.
type Description struct {
	Operation string  `json:"operation"`
	Code      uint16  `json:"code"`
	Params    []Field `json:"parameters"`
	// Error is set when the argument does not decode (a missing mandatory
	// or malformed parameter); Params still shows what could be read.
	Error string `json:"error,omitempty"`
}

// String renders the description as indented text, one parameter a line.
func (d Description) String() string {
	var b strings.Builder
	b.WriteString(d.Operation)
	b.WriteString(" (0x")
	b.WriteString(strconv.FormatUint(uint64(d.Code), 16))
	b.WriteString(")\n")
	for _, f := range d.Params {
		b.WriteString("  ")
		b.WriteString(f.Name)
		b.WriteString(": ")
		b.WriteString(f.Value)
		b.WriteByte('\n')
	}
	if d.Error != "" {
		b.WriteString("  error: ")
		b.WriteString(d.Error)
		b.WriteByte('\n')
	}
	return b.String()
}

// Describe renders an Invoke's operation and Parameter Set contents.
func Describe(op OpCode, params []byte) Description {
	d := Description{Operation: op.String(), Code: uint16(op)}
	if _, err := Decode(op, params); err != nil {
		d.Error = err.Error()
	}
	d.Params = describeParams(params)
	return d
}

// DescribeArg renders an argument value (for instance one the simulator is
// about to send) the way Describe renders it off the wire.
func DescribeArg(a Arg) Description { return Describe(a.Op(), a.Marshal(nil)) }

// DescribeError renders a Return Error's code and Parameter Set contents.
func DescribeError(code ErrorCode, params []byte) Description {
	d := Description{Operation: code.String(), Code: uint16(code)}
	if _, err := DecodeError(code, params); err != nil {
		d.Error = err.Error()
	}
	d.Params = describeParams(params)
	return d
}

func describeParams(b []byte) []Field {
	fields := []Field{}
	it := ber.NewIter(b, 0)
	for t, ok := it.Next(); ok; t, ok = it.Next() {
		fields = append(fields, Field{Name: paramLabel(t), Value: describeValue(t)})
	}
	if err := it.Err(); err != nil {
		fields = append(fields, Field{Name: "(undecodable)", Value: err.Error()})
	}
	return fields
}

func paramLabel(t ber.TLV) string {
	if t.Class == ber.Context {
		if n := ParamName(t.Tag); n != "" {
			return n
		}
	}
	return t.Class.String() + " " + strconv.FormatUint(uint64(t.Tag), 10)
}

// numberTags are AINDigits parameters that hold telephone numbers, shown in
// E.164 form when they convert.
func isNumberTag(tag uint32) bool {
	switch tag {
	case TagCalledPartyID, TagCallingPartyID, TagChargeNumber, TagOriginalCalledPartyID,
		TagOutpulseNumber, TagRedirectingPartyID, TagAMAAlternateBillingNumber,
		TagRTPReroutingNumber, TagDestinationAddress:
		return true
	}
	return false
}

func isDigitsTag(tag uint32) bool {
	switch tag {
	case TagAccessCode, TagAMABusinessCustomerID, TagAMADigitsDialedWC, TagAMALineNumber,
		TagCollectedAddressInfo, TagCollectedDigits, TagLata, TagTcm, TagVerticalServiceCode,
		TagAMABillingFeature, TagMsrID, TagAlternateDialingPlanInd, TagDTMFDigitsDetected,
		TagODTMFDigitsString, TagTDTMFDigitString:
		return true
	}
	return isNumberTag(tag)
}

func describeValue(t ber.TLV) string {
	if t.Class != ber.Context {
		return hexValue(t)
	}
	d := decoder{in: "describe"}
	if isDigitsTag(t.Tag) && !t.Constructed {
		v, bad := parseDigits(t.Value)
		if bad != "" {
			return hexValue(t) + " (" + bad + ")"
		}
		return DescribeDigits(v, isNumberTag(t.Tag), t.Tag == TagCallingPartyID)
	}
	enum := func(f func(uint8) string) string {
		v, err := d.uint(t, 255)
		if err != nil {
			return hexValue(t)
		}
		return f(uint8(v))
	}
	switch t.Tag {
	case TagUserID:
		var u UserID
		if err := d.userID(t, &u); err != nil {
			return hexValue(t)
		}
		return u.String()
	case TagBearerCapability:
		return enum(func(v uint8) string { return BearerCapability(v).String() })
	case TagTriggerCriteriaType:
		return enum(func(v uint8) string { return TriggerCriteriaType(v).String() })
	case TagControllingLegTreatment, TagPassiveLegTreatment:
		return enum(func(v uint8) string { return ControllingLegTreatment(v).String() })
	case TagGapDuration:
		return enum(func(v uint8) string { return GapDuration(v).String() })
	case TagNationalGapInterval, TagPrivateGapInterval:
		return enum(func(v uint8) string {
			return GapInterval{Private: t.Tag == TagPrivateGapInterval, Value: v}.String()
		})
	case TagCloseCause:
		return enum(func(v uint8) string { return CloseCause(v).String() })
	case TagDisconnectCause:
		return enum(func(v uint8) string { return DisconnectCause(v).String() })
	case TagFailureCause:
		return enum(func(v uint8) string { return FailureCause(v).String() })
	case TagErrorCause:
		return enum(func(v uint8) string { return ErrorCause(v).String() })
	case TagCalledPartyStationType, TagChargePartyStationType, TagClearCause, TagResourceType,
		TagTranslationType, TagServiceContext, TagONoAnswerTimer, TagTNoAnswerTimer,
		TagNotificationDuration, TagLegID, TagTSTRCTimer, TagSSPResponseMessageTimerT1:
		v, err := d.uint(t, 1<<32)
		if err != nil {
			return hexValue(t)
		}
		return strconv.FormatUint(v, 10)
	case TagDisconnectFlag, TagAnswerIndicator, TagExtendedRinging:
		if t.Constructed || len(t.Value) != 0 {
			return hexValue(t)
		}
		return "present"
	case TagSTRConnection, TagCTRConnection, TagNotificationIndicator, TagDPConverter,
		TagOSIIndicator, TagAMASetHexABIndicator:
		if t.Constructed || len(t.Value) != 1 {
			return hexValue(t)
		}
		return strconv.FormatBool(t.Value[0] != 0)
	case TagGenericName:
		g, bad := parseGenericName(t.Value)
		if bad != "" || t.Constructed {
			return hexValue(t)
		}
		return describeGenericName(g)
	case TagAMAslpID:
		if t.Constructed || len(t.Value) != 5 {
			return hexValue(t)
		}
		var a AMAslpID
		copy(a[:], t.Value)
		return a.String()
	case TagDisplayText:
		o, err := d.displayText(t)
		if err != nil {
			return hexValue(t)
		}
		return describeDisplay(&o.V)
	case TagStrParameterBlock:
		s, err := d.strBlock(t)
		if err != nil {
			return hexValue(t)
		}
		return describeStr(&s)
	case TagGlobalTitleAddress:
		if t.Constructed {
			return hexValue(t)
		}
		return string(appendBCDText(nil, t.Value, 2*len(t.Value))) + " (0x" + hex.EncodeToString(t.Value) + ")"
	case TagRedirectionInformation:
		if t.Constructed || len(t.Value) != 2 {
			return hexValue(t)
		}
		return DescribeRedirection(t.Value[0], t.Value[1]) + " (" + hexValue(t) + ")"
	case TagApplicationErrorString:
		var p ApplicationError
		if err := p.Unmarshal(ber.AppendTLV(nil, t.Class, t.Constructed, t.Tag, t.Value)); err != nil {
			return hexValue(t)
		}
		s := "errorCause " + p.Cause.String()
		if p.FailedMessage.Set {
			s += ", failedMessage " + OpCode(p.FailedMessage.V.OpCode).String()
		}
		if p.UserID.Set {
			s += ", userID " + p.UserID.V.String()
		}
		return s
	}
	return hexValue(t)
}

// DescribeRedirection renders an ISUP Redirection Information (T1.113,
// the layout of Q.763 3.45; AIN carries it as is): octet 1 holds the
// redirecting indicator (bits 1-3) and the original redirection reason
// (bits 5-8), octet 2 the redirection counter (bits 1-3) and the
// redirecting reason (bits 5-8).
func DescribeRedirection(o1, o2 byte) string {
	indicators := [...]string{"no redirection", "call rerouted", "call rerouted, all information restricted",
		"call diverted", "call diverted, all information restricted", "call rerouted, number restricted",
		"call diverted, number restricted"}
	reasons := [...]string{"unknown", "busy", "no reply", "unconditional", "deflection during alerting",
		"deflection immediate", "mobile not reachable"}
	name := func(names []string, v byte) string {
		if int(v) < len(names) {
			return names[v]
		}
		return "spare " + strconv.Itoa(int(v))
	}
	return name(indicators[:], o1&0x07) + ", original reason " + name(reasons[:], o1>>4) +
		", counter " + strconv.Itoa(int(o2&0x07)) + ", reason " + name(reasons[:], o2>>4)
}

func hexValue(t ber.TLV) string {
	if t.Constructed {
		return "{0x" + hex.EncodeToString(t.Value) + "}"
	}
	return "0x" + hex.EncodeToString(t.Value)
}

// DescribeDigits renders an AINDigits value for people. asNumber converts it
// to E.164 when the nature of address allows; showPresentation always shows
// presentation and screening (otherwise only when not zero).
func DescribeDigits(d Digits, asNumber, showPresentation bool) string {
	var b []byte
	switch n, err := d.E164(); {
	case asNumber && err == nil:
		b = n.AppendTo(b)
	case d.Len() == 0:
		b = append(b, "(no digits)"...)
	default:
		b = d.AppendDigits(b)
	}
	b = append(b, " (noa "...)
	b = append(b, d.NatureOfAddress.String()...)
	b = append(b, ", np "...)
	b = append(b, d.NumberingPlan.String()...)
	if showPresentation || d.Presentation != 0 || d.Screening != 0 {
		b = append(b, ", presentation "...)
		b = append(b, d.Presentation.String()...)
		b = append(b, ", screening "...)
		b = append(b, d.Screening.String()...)
	}
	b = append(b, ')')
	return string(b)
}

var nameTypes = [...]string{"unknown name type", "calling name", "original called name",
	"redirecting name", "connected name", "name type 5", "name type 6", "name type 7"}
var namePresentations = [...]string{"presentation allowed", "presentation restricted",
	"blocking toggle", "no indication"}

func describeGenericName(g GenericName) string {
	avail := "available"
	if g.Unavailable {
		avail = "not available"
	}
	return strconv.Quote(string(g.Name)) + " (" + nameTypes[g.TypeOfName&7] + ", " + avail +
		", " + namePresentations[g.Presentation&3] + ")"
}

func describeDisplay(t *DisplayText) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i < t.Len(); i++ {
		it := t.At(i)
		if i > 0 {
			b.WriteString(", ")
		}
		name := ""
		if int(it.Tag) < len(displayNames) {
			name = displayNames[it.Tag]
		}
		if name == "" {
			name = "item" + strconv.Itoa(int(it.Tag))
		}
		b.WriteString(name)
		b.WriteByte(' ')
		b.WriteString(strconv.Quote(string(it.Value)))
	}
	b.WriteByte(']')
	return b.String()
}

func describeAnnouncements(b *strings.Builder, label string, l *AnnouncementList) {
	if l.Len() == 0 {
		return
	}
	b.WriteString(", ")
	b.WriteString(label)
	b.WriteString(" [")
	for i := 0; i < l.Len(); i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(hex.EncodeToString(l.At(i)))
	}
	b.WriteByte(']')
}

func describeStr(s *StrParameterBlock) string {
	var b strings.Builder
	switch s.Kind {
	case StrAnnouncementBlock:
		b.WriteString("announcementBlock")
	case StrAnnouncementDigitBlock:
		b.WriteString("announcementDigitBlock, maximumDigits ")
		b.WriteString(strconv.Itoa(int(s.MaximumDigits)))
	case StrFlexParameterBlock:
		return "flexParameterBlock 0x" + hex.EncodeToString(s.Flex)
	}
	describeAnnouncements(&b, "uninterruptible", &s.Uninterruptible)
	describeAnnouncements(&b, "interruptible", &s.Interruptible)
	return b.String()
}
