package m3ua

import (
	"encoding/binary"
	"fmt"
)

// Tag is a parameter tag (RFC 4666 §3.2).
type Tag uint16

// Parameter tags. Common parameters (0x0000-0x01ff) and M3UA-specific ones
// (0x0200-0x02ff).
const (
	TagINFOString            Tag = 0x0004
	TagRoutingContext        Tag = 0x0006
	TagDiagnosticInfo        Tag = 0x0007
	TagHeartbeatData         Tag = 0x0009
	TagTrafficModeType       Tag = 0x000b
	TagErrorCode             Tag = 0x000c
	TagStatus                Tag = 0x000d
	TagASPIdentifier         Tag = 0x0011
	TagAffectedPointCode     Tag = 0x0012
	TagCorrelationID         Tag = 0x0013
	TagNetworkAppearance     Tag = 0x0200
	TagUserCause             Tag = 0x0204
	TagCongestionIndications Tag = 0x0205
	TagConcernedDestination  Tag = 0x0206
	TagRoutingKey            Tag = 0x0207
	TagRegistrationResult    Tag = 0x0208
	TagDeregistrationResult  Tag = 0x0209
	TagLocalRoutingKeyID     Tag = 0x020a
	TagDestinationPointCode  Tag = 0x020b
	TagServiceIndicators     Tag = 0x020c
	TagOriginatingPCList     Tag = 0x020e
	TagProtocolData          Tag = 0x0210
	TagRegistrationStatus    Tag = 0x0212
	TagDeregistrationStatus  Tag = 0x0213
)

// tagList doubles as the list of known tags: the bit index of a tag in a
// params.present mask is its position here.
var tagList = [...]struct {
	tag  Tag
	name string
}{
	{TagINFOString, "INFO String"},
	{TagRoutingContext, "Routing Context"},
	{TagDiagnosticInfo, "Diagnostic Information"},
	{TagHeartbeatData, "Heartbeat Data"},
	{TagTrafficModeType, "Traffic Mode Type"},
	{TagErrorCode, "Error Code"},
	{TagStatus, "Status"},
	{TagASPIdentifier, "ASP Identifier"},
	{TagAffectedPointCode, "Affected Point Code"},
	{TagCorrelationID, "Correlation ID"},
	{TagNetworkAppearance, "Network Appearance"},
	{TagUserCause, "User/Cause"},
	{TagCongestionIndications, "Congestion Indications"},
	{TagConcernedDestination, "Concerned Destination"},
	{TagRoutingKey, "Routing Key"},
	{TagRegistrationResult, "Registration Result"},
	{TagDeregistrationResult, "Deregistration Result"},
	{TagLocalRoutingKeyID, "Local Routing Key Identifier"},
	{TagDestinationPointCode, "Destination Point Code"},
	{TagServiceIndicators, "Service Indicators"},
	{TagOriginatingPCList, "Originating Point Code List"},
	{TagProtocolData, "Protocol Data"},
	{TagRegistrationStatus, "Registration Status"},
	{TagDeregistrationStatus, "Deregistration Status"},
}

// tagBits maps a tag to its index in tagList (+1, so 0 means unknown);
// common tags are 0x00xx and M3UA tags 0x02xx, so two small tables
// replace a search on the decoding path.
var tagBits = func() (t [2][32]int8) {
	for i, e := range tagList {
		t[e.tag>>9][e.tag&0x1f] = int8(i + 1)
	}
	return t
}()

func (t Tag) bit() int {
	if t&^0x021f != 0 || t&0x0100 != 0 {
		return -1
	}
	return int(tagBits[t>>9][t&0x1f]) - 1
}

func (t Tag) String() string {
	if i := t.bit(); i >= 0 {
		return fmt.Sprintf("%s (0x%04x)", tagList[i].name, uint16(t))
	}
	return fmt.Sprintf("0x%04x", uint16(t))
}

// mask builds a parameter set from tags.
func mask(tags ...Tag) uint32 {
	var m uint32
	for _, t := range tags {
		m |= 1 << uint(t.bit())
	}
	return m
}

// TrafficMode is the Traffic Mode Type parameter of ASP Active (RFC 4666
// §3.7.1).
type TrafficMode uint32

// Traffic modes. TrafficModeNone (0) means "parameter absent".
const (
	TrafficModeNone      TrafficMode = 0
	TrafficModeOverride  TrafficMode = 1
	TrafficModeLoadshare TrafficMode = 2
	TrafficModeBroadcast TrafficMode = 3
)

func (m TrafficMode) String() string {
	switch m {
	case TrafficModeNone:
		return "none"
	case TrafficModeOverride:
		return "override"
	case TrafficModeLoadshare:
		return "loadshare"
	case TrafficModeBroadcast:
		return "broadcast"
	}
	return fmt.Sprintf("traffic-mode(%d)", uint32(m))
}

// Status is the Status parameter of NTFY: a status type and its information.
type Status struct {
	Type uint16
	Info uint16
}

// Status types and information values (RFC 4666 §3.8.2).
const (
	StatusTypeASStateChange uint16 = 1
	StatusTypeOther         uint16 = 2

	// with StatusTypeASStateChange
	StatusASInactive uint16 = 2
	StatusASActive   uint16 = 3
	StatusASPending  uint16 = 4

	// with StatusTypeOther
	StatusInsufficientASPs   uint16 = 1
	StatusAlternateASPActive uint16 = 2
	StatusASPFailure         uint16 = 3
)

func (s Status) String() string {
	switch s.Type {
	case StatusTypeASStateChange:
		switch s.Info {
		case StatusASInactive:
			return "AS-INACTIVE"
		case StatusASActive:
			return "AS-ACTIVE"
		case StatusASPending:
			return "AS-PENDING"
		}
	case StatusTypeOther:
		switch s.Info {
		case StatusInsufficientASPs:
			return "Insufficient ASP resources active in AS"
		case StatusAlternateASPActive:
			return "Alternate ASP Active"
		case StatusASPFailure:
			return "ASP Failure"
		}
	}
	return fmt.Sprintf("status %d/%d", s.Type, s.Info)
}

// AffectedPC is one entry of the Affected Point Code parameter: a 24-bit
// point code and a mask giving the number of low-order bits that are
// wildcarded (0 = exactly this point code).
type AffectedPC struct {
	Mask uint8
	PC   uint32
}

// Covers reports whether pc is inside the (possibly wildcarded) entry.
func (a AffectedPC) Covers(pc uint32) bool {
	if a.Mask >= 24 {
		return true
	}
	m := uint32(0xffffff) &^ (1<<a.Mask - 1)
	return pc&m == a.PC&m
}

// UserCause is the User/Cause parameter of DUPU.
type UserCause struct {
	Cause uint16 // 0 unknown, 1 unequipped remote user, 2 inaccessible remote user
	User  uint16 // MTP3 user (service indicator): 3 SCCP, 5 ISUP, ...
}

// Congestion levels of the Congestion Indications parameter.
const (
	CongestionNone   uint8 = 0
	CongestionLevel1 uint8 = 1
	CongestionLevel2 uint8 = 2
	CongestionLevel3 uint8 = 3
)

// params is one message's parameters as decoded; slices alias the input.
type params struct {
	present uint32 // bit i = tagList[i] seen
	unknown int

	info          []byte
	rc            []byte // n*4 octets
	rcOff         int
	diagnostic    []byte
	heartbeat     []byte
	trafficMode   uint32
	errorCode     uint32
	status        Status
	aspID         uint32
	apc           []byte // n*4 octets
	correlationID uint32
	na            uint32
	userCause     UserCause
	congestion    uint8
	concerned     uint32
	protocolData  []byte

	// RKM (RFC 4666 §3.6). groups holds the Routing Key, Registration
	// Result or Deregistration Result parameters, which may repeat; each
	// is itself a parameter list, parsed by its message.
	groups      []group
	strict      bool // unknown tags are errors (inside a Routing Key)
	lrkid       uint32
	dpc         uint32
	si          []byte
	opc         []byte // n*4 octets
	regStatus   uint32
	deregStatus uint32
}

// group is one occurrence of a repeatable RKM parameter: its value and the
// offset of its tag in the message.
type group struct {
	v   []byte
	off int
}

// groupTags may occur more than once in a message (one per routing key
// or result); every other tag may occur once.
var groupTags = mask(TagRoutingKey, TagRegistrationResult, TagDeregistrationResult)

func (p *params) has(t Tag) bool { return p.present&(1<<uint(t.bit())) != 0 }

// parse decodes the parameters in b. base is the offset of b[0] in the
// message, for error offsets. Only tags in allowed are accepted; unknown
// tags are skipped.
func (p *params) parse(b []byte, base int, allowed uint32) error {
	off := 0
	for off < len(b) {
		if len(b)-off < 4 {
			return errAt(base+off, CodeParameterFieldError, "%d octets left, too short for a parameter header", len(b)-off)
		}
		tag := Tag(binary.BigEndian.Uint16(b[off:]))
		l := int(binary.BigEndian.Uint16(b[off+2:]))
		if l < 4 {
			return errParam(base+off+2, CodeParameterFieldError, tag, "parameter length %d shorter than its header", l)
		}
		if l > len(b)-off {
			return errParam(base+off+2, CodeParameterFieldError, tag, "parameter length %d exceeds the %d octets left in the message", l, len(b)-off)
		}
		v := b[off+4 : off+l]
		if bit := tag.bit(); bit < 0 {
			if p.strict {
				return errParam(base+off, CodeUnexpectedParameter, tag, "unknown parameter inside a Routing Key")
			}
			p.unknown++
		} else {
			if allowed&(1<<uint(bit)) == 0 {
				if p.strict {
					return errParam(base+off, CodeUnexpectedParameter, tag, "parameter not allowed inside a Routing Key")
				}
				return errParam(base+off, CodeUnexpectedParameter, tag, "parameter not allowed in this message")
			}
			if groupTags&(1<<uint(bit)) != 0 {
				p.present |= 1 << uint(bit)
				p.groups = append(p.groups, group{v: v, off: base + off})
				off += pad4(l)
				continue
			}
			if p.present&(1<<uint(bit)) != 0 {
				return errParam(base+off, CodeUnexpectedParameter, tag, "parameter repeated")
			}
			p.present |= 1 << uint(bit)
			if err := p.set(tag, v, base+off); err != nil {
				return err
			}
		}
		// Padding is not counted in the parameter length; a last parameter
		// without its padding is tolerated.
		off += pad4(l)
	}
	return nil
}

func (p *params) set(tag Tag, v []byte, off int) error {
	fixed := func() (uint32, error) {
		if len(v) != 4 {
			return 0, errParam(off+2, CodeParameterFieldError, tag, "value length %d, want 4", len(v))
		}
		return binary.BigEndian.Uint32(v), nil
	}
	var err error
	switch tag {
	case TagINFOString:
		if len(v) > 255 {
			return errParam(off+2, CodeParameterFieldError, tag, "INFO String of %d octets, at most 255 allowed", len(v))
		}
		p.info = v
	case TagRoutingContext:
		if len(v) == 0 || len(v)%4 != 0 {
			return errParam(off+2, CodeParameterFieldError, tag, "value length %d is not a positive multiple of 4", len(v))
		}
		p.rc, p.rcOff = v, off
	case TagDiagnosticInfo:
		p.diagnostic = v
	case TagHeartbeatData:
		p.heartbeat = v
	case TagTrafficModeType:
		p.trafficMode, err = fixed()
	case TagErrorCode:
		p.errorCode, err = fixed()
	case TagStatus:
		var x uint32
		x, err = fixed()
		p.status = Status{Type: uint16(x >> 16), Info: uint16(x)}
	case TagASPIdentifier:
		p.aspID, err = fixed()
	case TagAffectedPointCode:
		if len(v) == 0 || len(v)%4 != 0 {
			return errParam(off+2, CodeParameterFieldError, tag, "value length %d is not a positive multiple of 4", len(v))
		}
		p.apc = v
	case TagCorrelationID:
		p.correlationID, err = fixed()
	case TagNetworkAppearance:
		p.na, err = fixed()
	case TagUserCause:
		var x uint32
		x, err = fixed()
		p.userCause = UserCause{Cause: uint16(x >> 16), User: uint16(x)}
	case TagCongestionIndications:
		var x uint32
		x, err = fixed()
		p.congestion = uint8(x)
	case TagConcernedDestination:
		var x uint32
		x, err = fixed()
		p.concerned = x & 0xffffff
	case TagProtocolData:
		if len(v) < protocolDataFixed {
			return errParam(off+2, CodeParameterFieldError, tag, "value length %d shorter than the %d-octet routing label", len(v), protocolDataFixed)
		}
		p.protocolData = v
	case TagLocalRoutingKeyID:
		p.lrkid, err = fixed()
	case TagDestinationPointCode:
		p.dpc, err = fixed()
		if err == nil && p.dpc>>24 != 0 {
			return errParam(off+4, CodeInvalidParameterValue, tag, "mask %d: a Routing Key names one destination, the mask must be 0", p.dpc>>24)
		}
	case TagServiceIndicators:
		if len(v) == 0 {
			return errParam(off+2, CodeParameterFieldError, tag, "no service indicator")
		}
		p.si = v
	case TagOriginatingPCList:
		if len(v) == 0 || len(v)%4 != 0 {
			return errParam(off+2, CodeParameterFieldError, tag, "value length %d is not a positive multiple of 4", len(v))
		}
		p.opc = v
	case TagRegistrationStatus:
		p.regStatus, err = fixed()
	case TagDeregistrationStatus:
		p.deregStatus, err = fixed()
	}
	return err
}

// require returns a Missing Parameter error for the first tag of need that
// was not seen.
func (p *params) require(msgOff int, need ...Tag) error {
	for _, t := range need {
		if !p.has(t) {
			return errParam(msgOff, CodeMissingParameter, t, "mandatory parameter missing")
		}
	}
	return nil
}

func (p *params) routingContexts() []uint32 {
	if p.rc == nil {
		return nil
	}
	return decodeU32s(p.rc)
}

func (p *params) affectedPCs() []AffectedPC { return decodePCs(p.apc) }

// decodePCs decodes a list of mask + point code entries (Affected Point
// Code, Originating Point Code List); nil for an absent parameter.
func decodePCs(b []byte) []AffectedPC {
	if b == nil {
		return nil
	}
	out := make([]AffectedPC, len(b)/4)
	for i := range out {
		x := binary.BigEndian.Uint32(b[i*4:])
		out[i] = AffectedPC{Mask: uint8(x >> 24), PC: x & 0xffffff}
	}
	return out
}

func decodeU32s(b []byte) []uint32 {
	out := make([]uint32, len(b)/4)
	for i := range out {
		out[i] = binary.BigEndian.Uint32(b[i*4:])
	}
	return out
}

func pad4(n int) int { return (n + 3) &^ 3 }

// Encoding helpers. Each returns the bytes appended; the *Len helpers give
// the padded length the matching append writes.

const maxParamValue = 0xffff - 4

func appendU32Param(b []byte, t Tag, v uint32) []byte {
	return append(b, byte(t>>8), byte(t), 0, 8, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func bytesParamLen(v []byte) int {
	if v == nil {
		return 0
	}
	return 4 + pad4(len(v))
}

func appendBytesParam(b []byte, t Tag, v []byte) []byte {
	if v == nil {
		return b
	}
	l := 4 + len(v)
	b = append(b, byte(t>>8), byte(t), byte(l>>8), byte(l))
	b = append(b, v...)
	for i := len(v); i%4 != 0; i++ {
		b = append(b, 0)
	}
	return b
}

func infoLen(s string) int {
	if s == "" {
		return 0
	}
	return 4 + pad4(len(s))
}

func appendInfo(b []byte, s string) []byte {
	if s == "" {
		return b
	}
	l := 4 + len(s)
	b = append(b, byte(TagINFOString>>8), byte(TagINFOString&0xff), byte(l>>8), byte(l))
	b = append(b, s...)
	for i := len(s); i%4 != 0; i++ {
		b = append(b, 0)
	}
	return b
}

func u32sParamLen(v []uint32) int {
	if len(v) == 0 {
		return 0
	}
	return 4 + 4*len(v)
}

func appendU32sParam(b []byte, t Tag, v []uint32) []byte {
	if len(v) == 0 {
		return b
	}
	l := 4 + 4*len(v)
	b = append(b, byte(t>>8), byte(t), byte(l>>8), byte(l))
	for _, x := range v {
		b = binary.BigEndian.AppendUint32(b, x)
	}
	return b
}

func apcParamLen(v []AffectedPC) int {
	if len(v) == 0 {
		return 0
	}
	return 4 + 4*len(v)
}

func appendAPCParam(b []byte, v []AffectedPC) []byte {
	return appendPCsParam(b, TagAffectedPointCode, v)
}

func appendPCsParam(b []byte, t Tag, v []AffectedPC) []byte {
	if len(v) == 0 {
		return b
	}
	l := 4 + 4*len(v)
	b = append(b, byte(t>>8), byte(t), byte(l>>8), byte(l))
	for _, a := range v {
		b = append(b, a.Mask, byte(a.PC>>16), byte(a.PC>>8), byte(a.PC))
	}
	return b
}

// check* validate sizes before encoding, so AppendTo never writes a
// parameter whose length field would overflow.
func checkInfo(s string) error {
	if len(s) > 255 {
		return encodeErr("INFO String of %d octets, at most 255 allowed", len(s))
	}
	return nil
}

func checkList(what string, n, elem int) error {
	if n*elem > maxParamValue {
		return encodeErr("%s: %d entries do not fit one parameter", what, n)
	}
	return nil
}

func checkBytes(what string, v []byte) error {
	if len(v) > maxParamValue {
		return encodeErr("%s of %d octets does not fit one parameter", what, len(v))
	}
	return nil
}

func checkPC(what string, pc uint32) error {
	if pc > 0xffffff {
		return encodeErr("%s %#x does not fit 24 bits", what, pc)
	}
	return nil
}
