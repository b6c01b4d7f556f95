// Package dissect decodes captured or hand-typed SIGTRAN messages layer by
// layer — M3UA, SCCP, ANSI TCAP and AIN 0.2 — into a structure that renders
// as readable text or JSON, for engineers (sspsim decode) and tests.
//
// It never panics on bad input: a layer that does not decode is reported
// with what failed and at which offset (relative to the start of the input
// message), and the layers above it are left out.
package dissect

import (
	"encoding/hex"
	"fmt"
	"time"

	"callgate/sigtran/m3ua"
	"callgate/sigtran/sccp"
	"callgate/sigtran/tcap"
)

// Kind is the protocol layer an input starts at.
type Kind uint8

// Kinds.
const (
	Unknown Kind = iota
	M3UA
	SCCP
	TCAP
)

func (k Kind) String() string {
	switch k {
	case M3UA:
		return "M3UA"
	case SCCP:
		return "SCCP"
	case TCAP:
		return "TCAP"
	}
	return "unknown"
}

// Message is one decoded message.
type Message struct {
	// Source says where the message came from: "frame 3", "hex input 1
	// message 2".
	Source string `json:"source"`
	// Frame and the transport fields are set for messages from captures.
	Frame     int       `json:"frame,omitempty"`
	Time      time.Time `json:"time,omitzero"`
	Src       string    `json:"src,omitempty"`
	Dst       string    `json:"dst,omitempty"`
	Transport string    `json:"transport,omitempty"`
	Stream    *uint16   `json:"stream,omitempty"`
	// Offset is where the message starts in its input (several messages
	// can follow each other in one hex input).
	Offset int    `json:"offset"`
	Length int    `json:"length"`
	Kind   string `json:"startsAt"`

	M3UA *M3UALayer `json:"m3ua,omitempty"`
	SCCP *SCCPLayer `json:"sccp,omitempty"`
	TCAP *TCAPLayer `json:"tcap,omitempty"`
	// Errors lists what did not decode, each naming the layer and offset.
	Errors []string `json:"errors,omitempty"`
}

// M3UALayer is the M3UA message.
type M3UALayer struct {
	Class  string `json:"class"`
	Type   uint8  `json:"type"`
	Name   string `json:"name"`
	Length int    `json:"length"`
	// DATA fields.
	RoutingContext    *uint32 `json:"routingContext,omitempty"`
	NetworkAppearance *uint32 `json:"networkAppearance,omitempty"`
	CorrelationID     *uint32 `json:"correlationID,omitempty"`
	OPC               string  `json:"opc,omitempty"` // ANSI n-c-m
	DPC               string  `json:"dpc,omitempty"`
	OPCValue          uint32  `json:"opcValue,omitempty"`
	DPCValue          uint32  `json:"dpcValue,omitempty"`
	SI                *uint8  `json:"si,omitempty"`
	NI                *uint8  `json:"ni,omitempty"`
	MP                *uint8  `json:"mp,omitempty"`
	SLS               *uint8  `json:"sls,omitempty"`
	// Fields of the other messages, by name.
	Fields []Field `json:"fields,omitempty"`
}

// Field is a named value of a non-DATA M3UA message.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// SCCPLayer is the SCCP connectionless message.
type SCCPLayer struct {
	Variant       string  `json:"variant"`
	Type          string  `json:"messageType"`
	ProtocolClass *uint8  `json:"protocolClass,omitempty"`
	ReturnOnError *bool   `json:"returnOnError,omitempty"`
	ReturnCause   string  `json:"returnCause,omitempty"`
	HopCounter    *uint8  `json:"hopCounter,omitempty"`
	Called        Address `json:"called"`
	Calling       Address `json:"calling"`
	DataLength    int     `json:"dataLength"`
}

// Address is an SCCP party address.
type Address struct {
	RoutingIndicator string `json:"routingIndicator"`
	National         bool   `json:"national"`
	PointCode        string `json:"pointCode,omitempty"`
	SSN              *uint8 `json:"ssn,omitempty"`
	GTI              uint8  `json:"gti,omitempty"`
	TT               *uint8 `json:"translationType,omitempty"`
	GlobalTitle      string `json:"globalTitle,omitempty"`
	Text             string `json:"text"`
}

// TCAPLayer is the ANSI TCAP package with its components decoded to AIN.
type TCAPLayer struct {
	Package        string      `json:"package"`
	OrigTID        string      `json:"originatingTID,omitempty"`
	RespTID        string      `json:"respondingTID,omitempty"`
	Dialogue       *Dialogue   `json:"dialogue,omitempty"`
	Components     []Component `json:"components,omitempty"`
	AbortCause     string      `json:"pAbortCause,omitempty"`
	AbortCauseCode uint8       `json:"pAbortCauseCode,omitempty"`
	UserAbort      string      `json:"userAbortInformation,omitempty"`
}

// Dialogue is the dialogue portion, when present.
type Dialogue struct {
	Version    *uint8 `json:"protocolVersion,omitempty"`
	AppContext string `json:"applicationContext,omitempty"`
}

// Detect guesses the layer b starts with: an M3UA common header (version
// 1, reserved 0, a length that fits), an SCCP connectionless message type,
// or a TCAP package identifier.
func Detect(b []byte) Kind {
	if len(b) == 0 {
		return Unknown
	}
	// No SCCP message type or TCAP package identifier is 0x01, so a
	// leading version octet 1 is M3UA even when the rest is damaged (the
	// decoder then says what is wrong with it).
	if b[0] == m3ua.Version && (len(b) < 2 || b[1] == 0) {
		return M3UA
	}
	switch b[0] {
	case byte(sccp.UDT), byte(sccp.UDTS), byte(sccp.XUDT), byte(sccp.XUDTS), byte(sccp.LUDT), byte(sccp.LUDTS):
		return SCCP
	}
	if tcap.PackageType(b[0]).Valid() {
		return TCAP
	}
	return Unknown
}

// Decode decodes one message that starts at the given layer. source labels
// it in the result; errors name offsets from the start of b.
func Decode(b []byte, k Kind, source string) Message {
	m := Message{Source: source, Length: len(b), Kind: k.String()}
	switch k {
	case M3UA:
		m.decodeM3UA(b)
	case SCCP:
		m.decodeSCCP(b, 0)
	case TCAP:
		m.decodeTCAP(b, 0)
	default:
		m.errorf("not an M3UA message, SCCP message or TCAP package (first octets %s)", hexPrefix(b))
	}
	return m
}

func hexPrefix(b []byte) string {
	if len(b) > 8 {
		return hex.EncodeToString(b[:8]) + "..."
	}
	if len(b) == 0 {
		return "none: empty input"
	}
	return hex.EncodeToString(b)
}

func (m *Message) errorf(format string, args ...any) {
	m.Errors = append(m.Errors, fmt.Sprintf(format, args...))
}

func (m *Message) decodeM3UA(b []byte) {
	h, err := m3ua.ParseHeader(b)
	if err != nil {
		m.errorf("M3UA: %v", err)
		return
	}
	b = b[:h.Length]
	m.Length = len(b)
	l := &M3UALayer{Class: h.Class.String(), Type: h.Type, Name: m3ua.MessageName(h.Class, h.Type), Length: int(h.Length)}
	m.M3UA = l
	msg, err := m3ua.Decode(b)
	if err != nil {
		m.errorf("M3UA %s: %v", l.Name, err)
		return
	}
	d, ok := msg.(*m3ua.Data)
	if !ok {
		l.Fields = fieldsOf(msg)
		return
	}
	if d.HasRoutingContext {
		l.RoutingContext = &d.RoutingContext
	}
	if d.HasNetworkAppearance {
		l.NetworkAppearance = &d.NetworkAppearance
	}
	if d.HasCorrelationID {
		l.CorrelationID = &d.CorrelationID
	}
	pd := d.ProtocolData
	l.OPC, l.DPC = sccp.PointCode(pd.OPC).Format(sccp.ANSI), sccp.PointCode(pd.DPC).Format(sccp.ANSI)
	l.OPCValue, l.DPCValue = pd.OPC, pd.DPC
	l.SI, l.NI, l.MP, l.SLS = &pd.SI, &pd.NI, &pd.MP, &pd.SLS
	if pd.SI != m3ua.SISCCP {
		m.errorf("M3UA DATA: service indicator %d is not SCCP (3); payload not decoded", pd.SI)
		return
	}
	// Protocol Data aliases b: its offset is where its capacity starts.
	m.decodeSCCP(pd.Data, cap(b)-cap(pd.Data))
}

func (m *Message) decodeSCCP(b []byte, base int) {
	var s sccp.Message
	err := s.Decode(b, sccp.ANSI)
	variant := sccp.ANSI
	if err != nil {
		// ANSI is what AIN networks use; an ITU message may still read.
		var itu sccp.Message
		if itu.Decode(b, sccp.ITU) == nil {
			s, err, variant = itu, nil, sccp.ITU
		}
	}
	if err != nil {
		m.errorf("SCCP: %v%s", err, at(base))
		return
	}
	l := &SCCPLayer{Variant: variant.String(), Type: s.Type.String(), DataLength: len(s.Data),
		Called: address(&s.Called, variant), Calling: address(&s.Calling, variant)}
	if s.Type.IsService() {
		l.ReturnCause = s.Cause.String()
	} else {
		c, r := s.Class.Class(), s.Class.ReturnOnError()
		l.ProtocolClass, l.ReturnOnError = &c, &r
	}
	if s.Type != sccp.UDT && s.Type != sccp.UDTS {
		h := s.HopCounter
		l.HopCounter = &h
	}
	m.SCCP = l
	if s.NeedsReassembly() {
		m.errorf("SCCP: segmented message; the TCAP payload needs reassembly and is not decoded")
		return
	}
	m.decodeTCAP(s.Data, base+cap(b)-cap(s.Data))
}

// at renders a base offset for errors of an embedded layer.
func at(base int) string {
	if base == 0 {
		return ""
	}
	return fmt.Sprintf(" (layer starts at offset %d of the message)", base)
}

func address(a *sccp.Address, v sccp.Variant) Address {
	r := Address{RoutingIndicator: a.Routing.String(), National: a.National, Text: a.Format(v), GTI: a.GT.Indicator}
	if a.HasPC {
		r.PointCode = a.PC.Format(v)
	}
	if a.HasSSN {
		ssn := a.SSN
		r.SSN = &ssn
	}
	if a.GT.Indicator != 0 {
		tt := a.GT.TT
		r.TT = &tt
		r.GlobalTitle = a.GT.DigitString()
	}
	return r
}

func (m *Message) decodeTCAP(b []byte, base int) {
	var t tcap.Message
	err := t.Decode(b)
	if t.Type == 0 && err != nil {
		m.errorf("TCAP: %v%s", err, at(base))
		return
	}
	l := &TCAPLayer{Package: t.Type.String()}
	if !t.OrigTID.IsZero() {
		l.OrigTID = t.OrigTID.String()
	}
	if !t.RespTID.IsZero() {
		l.RespTID = t.RespTID.String()
	}
	if t.Dialogue.Present {
		d := &Dialogue{}
		if t.Dialogue.HasVersion {
			v := t.Dialogue.Version
			d.Version = &v
		}
		switch t.Dialogue.AppContext.Kind {
		case tcap.NoContext:
		default:
			if t.Dialogue.AppContext.OID != nil {
				d.AppContext = "oid " + hex.EncodeToString(t.Dialogue.AppContext.OID)
			} else {
				d.AppContext = fmt.Sprintf("integer %d", t.Dialogue.AppContext.Int)
			}
		}
		l.Dialogue = d
	}
	if t.Type == tcap.Abort {
		if t.AbortCause != 0 {
			l.AbortCause, l.AbortCauseCode = t.AbortCause.String(), uint8(t.AbortCause)
		}
		if t.HasUserAbort {
			l.UserAbort = hex.EncodeToString(t.UserAbort)
		}
	}
	for i := range t.Components {
		l.Components = append(l.Components, DecodeComponent(&t.Components[i]))
	}
	m.TCAP = l
	if err != nil {
		m.errorf("TCAP: %v%s", err, at(base))
	}
}
