package m3ua

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// Routing Key Management (RKM, RFC 4666 §3.6): an ASP registers the
// routing keys it serves with REG REQ and learns the routing context the
// SG gave each one from REG RSP; DEREG REQ / DEREG RSP undo it.

// RoutingKey is one Routing Key parameter of REG REQ (RFC 4666 §3.6.1).
// Optional fields are absent when their Has flag is false, TrafficMode is
// TrafficModeNone, or the slice is nil.
type RoutingKey struct {
	// LocalRKID is the ASP's handle for this key, echoed in its
	// Registration Result (mandatory).
	LocalRKID uint32
	// RoutingContext asks the SG to use (or change) this RC.
	RoutingContext    uint32
	HasRoutingContext bool
	TrafficMode       TrafficMode
	// DPC is the destination point code the key routes (mandatory, 24
	// bits; only an exact point code, mask 0, is representable).
	DPC                  uint32
	NetworkAppearance    uint32
	HasNetworkAppearance bool
	// ServiceIndicators lists MTP3 users (3 = SCCP, 5 = ISUP, ...).
	ServiceIndicators []uint8
	// OPCs restricts the key to these originating point codes; each entry
	// may wildcard its low-order bits with Mask.
	OPCs []AffectedPC
}

// rkAllowed is what a Routing Key may contain. A Routing Key is a filter:
// skipping a criterion we do not know (as top-level unknown parameters
// are skipped) would register a wider key than the ASP asked for, so
// inside a Routing Key unknown tags are errors.
var rkAllowed = mask(TagLocalRoutingKeyID, TagRoutingContext, TagTrafficModeType, TagDestinationPointCode,
	TagNetworkAppearance, TagServiceIndicators, TagOriginatingPCList)

// valueLen is the length of the Routing Key's value (its parameters).
func (k *RoutingKey) valueLen() int {
	n := 8 + 8 // Local RK Identifier, DPC
	if k.HasRoutingContext {
		n += 8
	}
	if k.TrafficMode != TrafficModeNone {
		n += 8
	}
	if k.HasNetworkAppearance {
		n += 8
	}
	if len(k.ServiceIndicators) > 0 {
		n += 4 + pad4(len(k.ServiceIndicators))
	}
	return n + apcParamLen(k.OPCs)
}

func (k *RoutingKey) check() error {
	if err := checkPC("Routing Key DPC", k.DPC); err != nil {
		return err
	}
	for _, o := range k.OPCs {
		if err := checkPC("Routing Key OPC", o.PC); err != nil {
			return err
		}
	}
	if k.valueLen() > maxParamValue {
		return encodeErr("Routing Key %d: %d octets do not fit one parameter", k.LocalRKID, k.valueLen())
	}
	return nil
}

func (k *RoutingKey) appendTo(b []byte) []byte {
	l := 4 + k.valueLen()
	b = append(b, byte(TagRoutingKey>>8), byte(TagRoutingKey&0xff), byte(l>>8), byte(l))
	// RFC 4666 §3.6.1 order.
	b = appendU32Param(b, TagLocalRoutingKeyID, k.LocalRKID)
	if k.HasRoutingContext {
		b = appendU32Param(b, TagRoutingContext, k.RoutingContext)
	}
	if k.TrafficMode != TrafficModeNone {
		b = appendU32Param(b, TagTrafficModeType, uint32(k.TrafficMode))
	}
	b = appendU32Param(b, TagDestinationPointCode, k.DPC)
	if k.HasNetworkAppearance {
		b = appendU32Param(b, TagNetworkAppearance, k.NetworkAppearance)
	}
	if len(k.ServiceIndicators) > 0 {
		b = appendBytesParam(b, TagServiceIndicators, k.ServiceIndicators)
	}
	return appendPCsParam(b, TagOriginatingPCList, k.OPCs)
}

// parseRoutingKey decodes the value of one Routing Key parameter; error
// offsets count from the start of the message.
func parseRoutingKey(g group) (RoutingKey, error) {
	p := params{strict: true}
	if err := p.parse(g.v, g.off+4, rkAllowed); err != nil {
		return RoutingKey{}, err
	}
	if err := p.require(g.off, TagLocalRoutingKeyID, TagDestinationPointCode); err != nil {
		return RoutingKey{}, err
	}
	k := RoutingKey{LocalRKID: p.lrkid, TrafficMode: TrafficMode(p.trafficMode), DPC: p.dpc, OPCs: decodePCs(p.opc)}
	if p.rc != nil {
		if len(p.rc) != 4 {
			return k, errParam(p.rcOff, CodeInvalidParameterValue, TagRoutingContext, "Routing Key carries %d routing contexts, at most one allowed", len(p.rc)/4)
		}
		k.RoutingContext, k.HasRoutingContext = binary.BigEndian.Uint32(p.rc), true
	}
	if p.has(TagTrafficModeType) && k.TrafficMode == TrafficModeNone {
		return k, errParam(g.off, CodeUnsupportedTrafficMode, TagTrafficModeType, "traffic mode 0 in Routing Key")
	}
	if p.has(TagNetworkAppearance) {
		k.NetworkAppearance, k.HasNetworkAppearance = p.na, true
	}
	if p.si != nil {
		// Copied: a Registrar may keep the key beyond the read buffer.
		k.ServiceIndicators = slices.Clone(p.si)
	}
	return k, nil
}

// RegStatus is the Registration Status of a Registration Result (RFC 4666
// §3.6.2).
type RegStatus uint32

// Registration statuses.
const (
	RegStatusSuccess                    RegStatus = 0
	RegStatusUnknown                    RegStatus = 1
	RegStatusInvalidDPC                 RegStatus = 2
	RegStatusInvalidNetworkAppearance   RegStatus = 3
	RegStatusInvalidRoutingKey          RegStatus = 4
	RegStatusPermissionDenied           RegStatus = 5
	RegStatusCannotSupportUniqueRouting RegStatus = 6
	RegStatusNotProvisioned             RegStatus = 7
	RegStatusInsufficientResources      RegStatus = 8
	RegStatusUnsupportedRKParameter     RegStatus = 9
	RegStatusInvalidTrafficMode         RegStatus = 10
	RegStatusChangeRefused              RegStatus = 11
	RegStatusAlreadyRegistered          RegStatus = 12
)

func (s RegStatus) String() string {
	switch s {
	case RegStatusSuccess:
		return "Successfully Registered"
	case RegStatusUnknown:
		return "Error - Unknown"
	case RegStatusInvalidDPC:
		return "Error - Invalid DPC"
	case RegStatusInvalidNetworkAppearance:
		return "Error - Invalid Network Appearance"
	case RegStatusInvalidRoutingKey:
		return "Error - Invalid Routing Key"
	case RegStatusPermissionDenied:
		return "Error - Permission Denied"
	case RegStatusCannotSupportUniqueRouting:
		return "Error - Cannot Support Unique Routing"
	case RegStatusNotProvisioned:
		return "Error - Routing Key not Currently Provisioned"
	case RegStatusInsufficientResources:
		return "Error - Insufficient Resources"
	case RegStatusUnsupportedRKParameter:
		return "Error - Unsupported RK parameter Field"
	case RegStatusInvalidTrafficMode:
		return "Error - Unsupported/Invalid Traffic Handling Mode"
	case RegStatusChangeRefused:
		return "Error - Routing Key Change Refused"
	case RegStatusAlreadyRegistered:
		return "Error - Routing Key Already Registered"
	}
	return fmt.Sprintf("registration status %d", uint32(s))
}

// DeregStatus is the Deregistration Status of a Deregistration Result
// (RFC 4666 §3.6.4).
type DeregStatus uint32

// Deregistration statuses.
const (
	DeregStatusSuccess          DeregStatus = 0
	DeregStatusUnknown          DeregStatus = 1
	DeregStatusInvalidRC        DeregStatus = 2
	DeregStatusPermissionDenied DeregStatus = 3
	DeregStatusNotRegistered    DeregStatus = 4
	DeregStatusASPActive        DeregStatus = 5
)

func (s DeregStatus) String() string {
	switch s {
	case DeregStatusSuccess:
		return "Successfully Deregistered"
	case DeregStatusUnknown:
		return "Error - Unknown"
	case DeregStatusInvalidRC:
		return "Error - Invalid Routing Context"
	case DeregStatusPermissionDenied:
		return "Error - Permission Denied"
	case DeregStatusNotRegistered:
		return "Error - Not Registered"
	case DeregStatusASPActive:
		return "Error - ASP Currently Active for Routing Context"
	}
	return fmt.Sprintf("deregistration status %d", uint32(s))
}

// RegReq is the RKM Registration Request (RFC 4666 §3.6.1).
type RegReq struct {
	Keys []RoutingKey // one or more
	// Unknown counts skipped top-level parameters with an unknown tag.
	Unknown int
}

var regReqAllowed = mask(TagRoutingKey)

func (m *RegReq) length() int {
	n := HeaderLen
	for i := range m.Keys {
		n += 4 + m.Keys[i].valueLen()
	}
	return n
}

func (m *RegReq) appendTo(b []byte, c Class, t uint8) ([]byte, error) {
	if len(m.Keys) == 0 {
		return b, encodeErr("REG REQ without a Routing Key")
	}
	for i := range m.Keys {
		if err := m.Keys[i].check(); err != nil {
			return b, err
		}
	}
	b = appendHeader(b, c, t, m.length())
	for i := range m.Keys {
		b = m.Keys[i].appendTo(b)
	}
	return b, nil
}

func (m *RegReq) unmarshal(b []byte, c Class, t uint8) error {
	body, err := checkHeader(b, c, t)
	if err != nil {
		return err
	}
	var p params
	if err := p.parse(body, HeaderLen, regReqAllowed); err != nil {
		return err
	}
	if err := p.require(0, TagRoutingKey); err != nil {
		return err
	}
	keys := make([]RoutingKey, len(p.groups))
	for i, g := range p.groups {
		if keys[i], err = parseRoutingKey(g); err != nil {
			return err
		}
	}
	*m = RegReq{Keys: keys, Unknown: p.unknown}
	return nil
}

// RegResult is one Registration Result of REG RSP (RFC 4666 §3.6.2).
type RegResult struct {
	LocalRKID uint32
	Status    RegStatus
	// RoutingContext is the RC assigned to the key; 0 when the
	// registration failed.
	RoutingContext uint32
}

var regResultAllowed = mask(TagLocalRoutingKeyID, TagRegistrationStatus, TagRoutingContext)

// RegRsp is the RKM Registration Response (RFC 4666 §3.6.2): one result
// per Routing Key of the request, in order.
type RegRsp struct {
	Results []RegResult // one or more
	Unknown int
}

var regRspAllowed = mask(TagRegistrationResult)

func (m *RegRsp) length() int { return HeaderLen + 28*len(m.Results) }

func (m *RegRsp) appendTo(b []byte, c Class, t uint8) ([]byte, error) {
	if len(m.Results) == 0 {
		return b, encodeErr("REG RSP without a Registration Result")
	}
	b = appendHeader(b, c, t, m.length())
	for _, r := range m.Results {
		b = append(b, byte(TagRegistrationResult>>8), byte(TagRegistrationResult&0xff), 0, 28)
		b = appendU32Param(b, TagLocalRoutingKeyID, r.LocalRKID)
		b = appendU32Param(b, TagRegistrationStatus, uint32(r.Status))
		b = appendU32Param(b, TagRoutingContext, r.RoutingContext)
	}
	return b, nil
}

func (m *RegRsp) unmarshal(b []byte, c Class, t uint8) error {
	body, err := checkHeader(b, c, t)
	if err != nil {
		return err
	}
	var p params
	if err := p.parse(body, HeaderLen, regRspAllowed); err != nil {
		return err
	}
	if err := p.require(0, TagRegistrationResult); err != nil {
		return err
	}
	res := make([]RegResult, len(p.groups))
	unknown := p.unknown
	for i, g := range p.groups {
		var q params
		if err := q.parse(g.v, g.off+4, regResultAllowed); err != nil {
			return err
		}
		if err := q.require(g.off, TagLocalRoutingKeyID, TagRegistrationStatus, TagRoutingContext); err != nil {
			return err
		}
		if len(q.rc) != 4 {
			return errParam(q.rcOff, CodeInvalidParameterValue, TagRoutingContext, "Registration Result carries %d routing contexts, exactly one allowed", len(q.rc)/4)
		}
		res[i] = RegResult{LocalRKID: q.lrkid, Status: RegStatus(q.regStatus), RoutingContext: binary.BigEndian.Uint32(q.rc)}
		unknown += q.unknown
	}
	*m = RegRsp{Results: res, Unknown: unknown}
	return nil
}

// DeregReq is the RKM Deregistration Request (RFC 4666 §3.6.3).
type DeregReq struct {
	RoutingContexts []uint32 // one or more
	Unknown         int
}

var deregReqAllowed = mask(TagRoutingContext)

func (m *DeregReq) length() int { return HeaderLen + u32sParamLen(m.RoutingContexts) }

func (m *DeregReq) appendTo(b []byte, c Class, t uint8) ([]byte, error) {
	if len(m.RoutingContexts) == 0 {
		return b, encodeErr("DEREG REQ without a Routing Context")
	}
	if err := checkList("Routing Context", len(m.RoutingContexts), 4); err != nil {
		return b, err
	}
	b = appendHeader(b, c, t, m.length())
	return appendU32sParam(b, TagRoutingContext, m.RoutingContexts), nil
}

func (m *DeregReq) unmarshal(b []byte, c Class, t uint8) error {
	body, err := checkHeader(b, c, t)
	if err != nil {
		return err
	}
	var p params
	if err := p.parse(body, HeaderLen, deregReqAllowed); err != nil {
		return err
	}
	if err := p.require(0, TagRoutingContext); err != nil {
		return err
	}
	*m = DeregReq{RoutingContexts: p.routingContexts(), Unknown: p.unknown}
	return nil
}

// DeregResult is one Deregistration Result of DEREG RSP (RFC 4666
// §3.6.4).
type DeregResult struct {
	RoutingContext uint32
	Status         DeregStatus
}

var deregResultAllowed = mask(TagRoutingContext, TagDeregistrationStatus)

// DeregRsp is the RKM Deregistration Response (RFC 4666 §3.6.4): one
// result per routing context of the request, in order.
type DeregRsp struct {
	Results []DeregResult // one or more
	Unknown int
}

var deregRspAllowed = mask(TagDeregistrationResult)

func (m *DeregRsp) length() int { return HeaderLen + 20*len(m.Results) }

func (m *DeregRsp) appendTo(b []byte, c Class, t uint8) ([]byte, error) {
	if len(m.Results) == 0 {
		return b, encodeErr("DEREG RSP without a Deregistration Result")
	}
	b = appendHeader(b, c, t, m.length())
	for _, r := range m.Results {
		b = append(b, byte(TagDeregistrationResult>>8), byte(TagDeregistrationResult&0xff), 0, 20)
		b = appendU32Param(b, TagRoutingContext, r.RoutingContext)
		b = appendU32Param(b, TagDeregistrationStatus, uint32(r.Status))
	}
	return b, nil
}

func (m *DeregRsp) unmarshal(b []byte, c Class, t uint8) error {
	body, err := checkHeader(b, c, t)
	if err != nil {
		return err
	}
	var p params
	if err := p.parse(body, HeaderLen, deregRspAllowed); err != nil {
		return err
	}
	if err := p.require(0, TagDeregistrationResult); err != nil {
		return err
	}
	res := make([]DeregResult, len(p.groups))
	unknown := p.unknown
	for i, g := range p.groups {
		var q params
		if err := q.parse(g.v, g.off+4, deregResultAllowed); err != nil {
			return err
		}
		if err := q.require(g.off, TagRoutingContext, TagDeregistrationStatus); err != nil {
			return err
		}
		if len(q.rc) != 4 {
			return errParam(q.rcOff, CodeInvalidParameterValue, TagRoutingContext, "Deregistration Result carries %d routing contexts, exactly one allowed", len(q.rc)/4)
		}
		res[i] = DeregResult{RoutingContext: binary.BigEndian.Uint32(q.rc), Status: DeregStatus(q.deregStatus)}
		unknown += q.unknown
	}
	*m = DeregRsp{Results: res, Unknown: unknown}
	return nil
}

// MessageClass returns ClassRKM.
func (m *RegReq) MessageClass() Class { return ClassRKM }

// MessageType returns TypeRegReq.
func (m *RegReq) MessageType() uint8 { return TypeRegReq }

// MarshalLen returns the encoded length of the REG REQ message.
func (m *RegReq) MarshalLen() int { return m.length() }

// AppendTo appends the encoded REG REQ message to b.
func (m *RegReq) AppendTo(b []byte) ([]byte, error) { return m.appendTo(b, ClassRKM, TypeRegReq) }

// MarshalBinary returns the encoded REG REQ message.
func (m *RegReq) MarshalBinary() ([]byte, error) { return m.AppendTo(make([]byte, 0, m.MarshalLen())) }

// UnmarshalBinary decodes a REG REQ message from the start of b. Nothing
// in the result aliases b.
func (m *RegReq) UnmarshalBinary(b []byte) error { return m.unmarshal(b, ClassRKM, TypeRegReq) }

// MessageClass returns ClassRKM.
func (m *RegRsp) MessageClass() Class { return ClassRKM }

// MessageType returns TypeRegRsp.
func (m *RegRsp) MessageType() uint8 { return TypeRegRsp }

// MarshalLen returns the encoded length of the REG RSP message.
func (m *RegRsp) MarshalLen() int { return m.length() }

// AppendTo appends the encoded REG RSP message to b.
func (m *RegRsp) AppendTo(b []byte) ([]byte, error) { return m.appendTo(b, ClassRKM, TypeRegRsp) }

// MarshalBinary returns the encoded REG RSP message.
func (m *RegRsp) MarshalBinary() ([]byte, error) { return m.AppendTo(make([]byte, 0, m.MarshalLen())) }

// UnmarshalBinary decodes a REG RSP message from the start of b.
func (m *RegRsp) UnmarshalBinary(b []byte) error { return m.unmarshal(b, ClassRKM, TypeRegRsp) }

// MessageClass returns ClassRKM.
func (m *DeregReq) MessageClass() Class { return ClassRKM }

// MessageType returns TypeDeregReq.
func (m *DeregReq) MessageType() uint8 { return TypeDeregReq }

// MarshalLen returns the encoded length of the DEREG REQ message.
func (m *DeregReq) MarshalLen() int { return m.length() }

// AppendTo appends the encoded DEREG REQ message to b.
func (m *DeregReq) AppendTo(b []byte) ([]byte, error) { return m.appendTo(b, ClassRKM, TypeDeregReq) }

// MarshalBinary returns the encoded DEREG REQ message.
func (m *DeregReq) MarshalBinary() ([]byte, error) {
	return m.AppendTo(make([]byte, 0, m.MarshalLen()))
}

// UnmarshalBinary decodes a DEREG REQ message from the start of b.
func (m *DeregReq) UnmarshalBinary(b []byte) error { return m.unmarshal(b, ClassRKM, TypeDeregReq) }

// MessageClass returns ClassRKM.
func (m *DeregRsp) MessageClass() Class { return ClassRKM }

// MessageType returns TypeDeregRsp.
func (m *DeregRsp) MessageType() uint8 { return TypeDeregRsp }

// MarshalLen returns the encoded length of the DEREG RSP message.
func (m *DeregRsp) MarshalLen() int { return m.length() }

// AppendTo appends the encoded DEREG RSP message to b.
func (m *DeregRsp) AppendTo(b []byte) ([]byte, error) { return m.appendTo(b, ClassRKM, TypeDeregRsp) }

// MarshalBinary returns the encoded DEREG RSP message.
func (m *DeregRsp) MarshalBinary() ([]byte, error) {
	return m.AppendTo(make([]byte, 0, m.MarshalLen()))
}

// UnmarshalBinary decodes a DEREG RSP message from the start of b.
func (m *DeregRsp) UnmarshalBinary(b []byte) error { return m.unmarshal(b, ClassRKM, TypeDeregRsp) }
