package m3ua

import (
	"encoding/binary"
	"fmt"
	"time"
)

// protocolDataFixed is the routing label part of Protocol Data:
// OPC(4) DPC(4) SI NI MP SLS.
const protocolDataFixed = 12

// Service indicators and network indicators commonly carried in Protocol
// Data (ITU-T Q.704 / ANSI T1.111).
const (
	SISCCP uint8 = 3
	SIISUP uint8 = 5

	NIInternational uint8 = 0
	NINational      uint8 = 2
)

// ProtocolData is the Protocol Data parameter (RFC 4666 §3.3.1): the MTP3
// routing label and the MTP3-user payload. OPC and DPC are 24-bit (ANSI)
// or 14-bit (ITU) point codes right-aligned in 32 bits. Data aliases the
// decoded message.
type ProtocolData struct {
	OPC, DPC uint32
	SI       uint8 // service indicator: 3 = SCCP
	NI       uint8 // network indicator: 0 international, 2 national
	MP       uint8 // message priority 0-3
	SLS      uint8 // signalling link selection
	Data     []byte
}

func (pd *ProtocolData) String() string {
	return fmt.Sprintf("OPC=%d DPC=%d SI=%d NI=%d MP=%d SLS=%d len=%d", pd.OPC, pd.DPC, pd.SI, pd.NI, pd.MP, pd.SLS, len(pd.Data))
}

// Data is the Transfer DATA message (class 1, type 1).
type Data struct {
	NetworkAppearance    uint32
	HasNetworkAppearance bool
	// RoutingContext identifies the AS; RFC 4666 §3.3.1 carries exactly
	// one value in DATA.
	RoutingContext    uint32
	HasRoutingContext bool
	ProtocolData      ProtocolData
	CorrelationID     uint32
	HasCorrelationID  bool
	Unknown           int // parameters with an unknown tag, skipped

	// Received is when the association's reader read the message, not
	// a parameter: messages read together share one reading of the
	// clock. Zero on a Data decoded otherwise.
	Received time.Time
}

var dataAllowed = mask(TagNetworkAppearance, TagRoutingContext, TagProtocolData, TagCorrelationID)

// MessageClass returns ClassTransfer.
func (m *Data) MessageClass() Class { return ClassTransfer }

// MessageType returns TypeDATA.
func (m *Data) MessageType() uint8 { return TypeDATA }

// MarshalLen returns the encoded length.
func (m *Data) MarshalLen() int {
	return dataLen(len(m.ProtocolData.Data), m.HasNetworkAppearance, m.HasRoutingContext, m.HasCorrelationID)
}

// dataLen is the encoded length of a DATA message carrying n octets of
// user data and the optional parameters flagged.
func dataLen(n int, hasNA, hasRC, hasCorr bool) int {
	l := HeaderLen + 4 + pad4(protocolDataFixed+n)
	if hasNA {
		l += 8
	}
	if hasRC {
		l += 8
	}
	if hasCorr {
		l += 8
	}
	return l
}

// AppendTo appends the encoded message to b.
func (m *Data) AppendTo(b []byte) ([]byte, error) {
	return appendData(b, &m.ProtocolData, m.NetworkAppearance, m.HasNetworkAppearance,
		m.RoutingContext, m.HasRoutingContext, m.CorrelationID, m.HasCorrelationID)
}

// appendData appends a DATA message with Protocol Data pd and the
// optional parameters flagged: Data.AppendTo, and SendData without
// building a Data.
func appendData(b []byte, pd *ProtocolData, na uint32, hasNA bool, rc uint32, hasRC bool, corr uint32, hasCorr bool) ([]byte, error) {
	if len(pd.Data) > maxParamValue-protocolDataFixed {
		return b, encodeErr("Protocol Data user data of %d octets does not fit one parameter", len(pd.Data))
	}
	b = appendHeader(b, ClassTransfer, TypeDATA, dataLen(len(pd.Data), hasNA, hasRC, hasCorr))
	if hasNA {
		b = appendU32Param(b, TagNetworkAppearance, na)
	}
	if hasRC {
		b = appendU32Param(b, TagRoutingContext, rc)
	}
	l := 4 + protocolDataFixed + len(pd.Data)
	b = append(b, byte(TagProtocolData>>8), byte(TagProtocolData&0xff), byte(l>>8), byte(l))
	b = binary.BigEndian.AppendUint32(b, pd.OPC)
	b = binary.BigEndian.AppendUint32(b, pd.DPC)
	b = append(b, pd.SI, pd.NI, pd.MP, pd.SLS)
	b = append(b, pd.Data...)
	for i := l; i%4 != 0; i++ {
		b = append(b, 0)
	}
	if hasCorr {
		b = appendU32Param(b, TagCorrelationID, corr)
	}
	return b, nil
}

// MarshalBinary returns the encoded message.
func (m *Data) MarshalBinary() ([]byte, error) { return m.AppendTo(make([]byte, 0, m.MarshalLen())) }

// UnmarshalBinary decodes a DATA message; ProtocolData.Data aliases b.
// It does not allocate unless it fails.
func (m *Data) UnmarshalBinary(b []byte) error {
	body, err := checkHeader(b, ClassTransfer, TypeDATA)
	if err != nil {
		return err
	}
	var p params
	if err := p.parse(body, HeaderLen, dataAllowed); err != nil {
		return err
	}
	if err := p.require(0, TagProtocolData); err != nil {
		return err
	}
	*m = Data{Unknown: p.unknown}
	if p.has(TagNetworkAppearance) {
		m.NetworkAppearance, m.HasNetworkAppearance = p.na, true
	}
	if p.rc != nil {
		if len(p.rc) != 4 {
			return errParam(p.rcOff, CodeInvalidParameterValue, TagRoutingContext, "DATA carries %d routing contexts, exactly one allowed", len(p.rc)/4)
		}
		m.RoutingContext, m.HasRoutingContext = binary.BigEndian.Uint32(p.rc), true
	}
	if p.has(TagCorrelationID) {
		m.CorrelationID, m.HasCorrelationID = p.correlationID, true
	}
	v := p.protocolData
	m.ProtocolData = ProtocolData{
		OPC:  binary.BigEndian.Uint32(v[0:4]),
		DPC:  binary.BigEndian.Uint32(v[4:8]),
		SI:   v[8],
		NI:   v[9],
		MP:   v[10],
		SLS:  v[11],
		Data: v[12:],
	}
	return nil
}

// Reply returns the routing label of an answer to pd carrying data: OPC
// and DPC swapped, same SI, NI, MP and SLS (the SLS keeps the answer on
// the query's association and stream).
func (pd *ProtocolData) Reply(data []byte) ProtocolData {
	return ProtocolData{OPC: pd.DPC, DPC: pd.OPC, SI: pd.SI, NI: pd.NI, MP: pd.MP, SLS: pd.SLS, Data: data}
}
