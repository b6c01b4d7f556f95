package m3ua

// This file holds the message shapes. Messages that share a parameter
// layout share a shape (ASP Up and ASP Up Ack, DUNA and DAVA, ...); the
// per-type methods that bind a shape to its class and type are in
// methods.go.

// Err is the MGMT ERR message (RFC 4666 §3.8.1).
type Err struct {
	Code ErrorCode
	// RoutingContexts is present with Invalid Routing Context (the bad
	// values) and may be present otherwise.
	RoutingContexts      []uint32
	NetworkAppearance    uint32
	HasNetworkAppearance bool
	// AffectedPCs is present with Destination Status Unknown.
	AffectedPCs []AffectedPC
	// Diagnostic carries (part of) the offending message; aliases the input.
	Diagnostic []byte
	Unknown    int
}

var errAllowed = mask(TagErrorCode, TagRoutingContext, TagNetworkAppearance, TagAffectedPointCode, TagDiagnosticInfo)

func (m *Err) length() int {
	n := HeaderLen + 8 + u32sParamLen(m.RoutingContexts) + apcParamLen(m.AffectedPCs) + bytesParamLen(m.Diagnostic)
	if m.HasNetworkAppearance {
		n += 8
	}
	return n
}

func (m *Err) appendTo(b []byte, c Class, t uint8) ([]byte, error) {
	if err := checkList("Routing Context", len(m.RoutingContexts), 4); err != nil {
		return b, err
	}
	if err := checkAPCs(m.AffectedPCs); err != nil {
		return b, err
	}
	if err := checkBytes("Diagnostic Information", m.Diagnostic); err != nil {
		return b, err
	}
	b = appendHeader(b, c, t, m.length())
	b = appendU32Param(b, TagErrorCode, uint32(m.Code))
	b = appendU32sParam(b, TagRoutingContext, m.RoutingContexts)
	if m.HasNetworkAppearance {
		b = appendU32Param(b, TagNetworkAppearance, m.NetworkAppearance)
	}
	b = appendAPCParam(b, m.AffectedPCs)
	return appendBytesParam(b, TagDiagnosticInfo, m.Diagnostic), nil
}

func (m *Err) unmarshal(b []byte, c Class, t uint8) error {
	body, err := checkHeader(b, c, t)
	if err != nil {
		return err
	}
	var p params
	if err := p.parse(body, HeaderLen, errAllowed); err != nil {
		return err
	}
	if err := p.require(0, TagErrorCode); err != nil {
		return err
	}
	*m = Err{
		Code:            ErrorCode(p.errorCode),
		RoutingContexts: p.routingContexts(),
		AffectedPCs:     p.affectedPCs(),
		Diagnostic:      p.diagnostic,
		Unknown:         p.unknown,
	}
	if p.has(TagNetworkAppearance) {
		m.NetworkAppearance, m.HasNetworkAppearance = p.na, true
	}
	return nil
}

// Notify is the MGMT NTFY message (RFC 4666 §3.8.2).
type Notify struct {
	Status           Status
	ASPIdentifier    uint32
	HasASPIdentifier bool
	RoutingContexts  []uint32
	Info             string
	Unknown          int
}

var notifyAllowed = mask(TagStatus, TagASPIdentifier, TagRoutingContext, TagINFOString)

func (m *Notify) length() int {
	n := HeaderLen + 8 + u32sParamLen(m.RoutingContexts) + infoLen(m.Info)
	if m.HasASPIdentifier {
		n += 8
	}
	return n
}

func (m *Notify) appendTo(b []byte, c Class, t uint8) ([]byte, error) {
	if err := checkList("Routing Context", len(m.RoutingContexts), 4); err != nil {
		return b, err
	}
	if err := checkInfo(m.Info); err != nil {
		return b, err
	}
	b = appendHeader(b, c, t, m.length())
	b = appendU32Param(b, TagStatus, uint32(m.Status.Type)<<16|uint32(m.Status.Info))
	if m.HasASPIdentifier {
		b = appendU32Param(b, TagASPIdentifier, m.ASPIdentifier)
	}
	b = appendU32sParam(b, TagRoutingContext, m.RoutingContexts)
	return appendInfo(b, m.Info), nil
}

func (m *Notify) unmarshal(b []byte, c Class, t uint8) error {
	body, err := checkHeader(b, c, t)
	if err != nil {
		return err
	}
	var p params
	if err := p.parse(body, HeaderLen, notifyAllowed); err != nil {
		return err
	}
	if err := p.require(0, TagStatus); err != nil {
		return err
	}
	*m = Notify{Status: p.status, RoutingContexts: p.routingContexts(), Info: string(p.info), Unknown: p.unknown}
	if p.has(TagASPIdentifier) {
		m.ASPIdentifier, m.HasASPIdentifier = p.aspID, true
	}
	return nil
}

// ASPUp is the ASPSM ASP Up message (RFC 4666 §3.5.1); ASPUpAck has the
// same parameters.
type ASPUp struct {
	ASPIdentifier    uint32
	HasASPIdentifier bool
	Info             string
	Unknown          int
}

var aspUpAllowed = mask(TagASPIdentifier, TagINFOString)

func (m *ASPUp) length() int {
	n := HeaderLen + infoLen(m.Info)
	if m.HasASPIdentifier {
		n += 8
	}
	return n
}

func (m *ASPUp) appendTo(b []byte, c Class, t uint8) ([]byte, error) {
	if err := checkInfo(m.Info); err != nil {
		return b, err
	}
	b = appendHeader(b, c, t, m.length())
	if m.HasASPIdentifier {
		b = appendU32Param(b, TagASPIdentifier, m.ASPIdentifier)
	}
	return appendInfo(b, m.Info), nil
}

func (m *ASPUp) unmarshal(b []byte, c Class, t uint8) error {
	body, err := checkHeader(b, c, t)
	if err != nil {
		return err
	}
	var p params
	if err := p.parse(body, HeaderLen, aspUpAllowed); err != nil {
		return err
	}
	*m = ASPUp{Info: string(p.info), Unknown: p.unknown}
	if p.has(TagASPIdentifier) {
		m.ASPIdentifier, m.HasASPIdentifier = p.aspID, true
	}
	return nil
}

// ASPUpAck is the ASPSM ASP Up Ack message (RFC 4666 §3.5.2).
type ASPUpAck ASPUp

// ASPDown is the ASPSM ASP Down message (RFC 4666 §3.5.3); ASPDownAck has
// the same parameters.
type ASPDown struct {
	Info    string
	Unknown int
}

var infoAllowed = mask(TagINFOString)

func (m *ASPDown) length() int { return HeaderLen + infoLen(m.Info) }

func (m *ASPDown) appendTo(b []byte, c Class, t uint8) ([]byte, error) {
	if err := checkInfo(m.Info); err != nil {
		return b, err
	}
	b = appendHeader(b, c, t, m.length())
	return appendInfo(b, m.Info), nil
}

func (m *ASPDown) unmarshal(b []byte, c Class, t uint8) error {
	body, err := checkHeader(b, c, t)
	if err != nil {
		return err
	}
	var p params
	if err := p.parse(body, HeaderLen, infoAllowed); err != nil {
		return err
	}
	*m = ASPDown{Info: string(p.info), Unknown: p.unknown}
	return nil
}

// ASPDownAck is the ASPSM ASP Down Ack message (RFC 4666 §3.5.4).
type ASPDownAck ASPDown

// Beat is the ASPSM Heartbeat message (RFC 4666 §3.5.5); BeatAck echoes
// its Heartbeat Data unchanged.
type Beat struct {
	// Data is the opaque Heartbeat Data; nil means the parameter is
	// absent. Aliases the input when decoded.
	Data    []byte
	Unknown int
}

var beatAllowed = mask(TagHeartbeatData)

func (m *Beat) length() int { return HeaderLen + bytesParamLen(m.Data) }

func (m *Beat) appendTo(b []byte, c Class, t uint8) ([]byte, error) {
	if err := checkBytes("Heartbeat Data", m.Data); err != nil {
		return b, err
	}
	b = appendHeader(b, c, t, m.length())
	return appendBytesParam(b, TagHeartbeatData, m.Data), nil
}

func (m *Beat) unmarshal(b []byte, c Class, t uint8) error {
	body, err := checkHeader(b, c, t)
	if err != nil {
		return err
	}
	var p params
	if err := p.parse(body, HeaderLen, beatAllowed); err != nil {
		return err
	}
	*m = Beat{Data: p.heartbeat, Unknown: p.unknown}
	return nil
}

// BeatAck is the ASPSM Heartbeat Ack message (RFC 4666 §3.5.6).
type BeatAck Beat

// ASPActive is the ASPTM ASP Active message (RFC 4666 §3.7.1);
// ASPActiveAck has the same parameters.
type ASPActive struct {
	TrafficMode     TrafficMode // TrafficModeNone = parameter absent
	RoutingContexts []uint32
	Info            string
	Unknown         int
}

var aspActiveAllowed = mask(TagTrafficModeType, TagRoutingContext, TagINFOString)

func (m *ASPActive) length() int {
	n := HeaderLen + u32sParamLen(m.RoutingContexts) + infoLen(m.Info)
	if m.TrafficMode != TrafficModeNone {
		n += 8
	}
	return n
}

func (m *ASPActive) appendTo(b []byte, c Class, t uint8) ([]byte, error) {
	if err := checkList("Routing Context", len(m.RoutingContexts), 4); err != nil {
		return b, err
	}
	if err := checkInfo(m.Info); err != nil {
		return b, err
	}
	b = appendHeader(b, c, t, m.length())
	if m.TrafficMode != TrafficModeNone {
		b = appendU32Param(b, TagTrafficModeType, uint32(m.TrafficMode))
	}
	b = appendU32sParam(b, TagRoutingContext, m.RoutingContexts)
	return appendInfo(b, m.Info), nil
}

func (m *ASPActive) unmarshal(b []byte, c Class, t uint8) error {
	body, err := checkHeader(b, c, t)
	if err != nil {
		return err
	}
	var p params
	if err := p.parse(body, HeaderLen, aspActiveAllowed); err != nil {
		return err
	}
	*m = ASPActive{TrafficMode: TrafficMode(p.trafficMode), RoutingContexts: p.routingContexts(), Info: string(p.info), Unknown: p.unknown}
	if p.has(TagTrafficModeType) && m.TrafficMode == TrafficModeNone {
		return errParam(HeaderLen, CodeUnsupportedTrafficMode, TagTrafficModeType, "traffic mode 0")
	}
	return nil
}

// ASPActiveAck is the ASPTM ASP Active Ack message (RFC 4666 §3.7.2).
type ASPActiveAck ASPActive

// ASPInactive is the ASPTM ASP Inactive message (RFC 4666 §3.7.3);
// ASPInactiveAck has the same parameters.
type ASPInactive struct {
	RoutingContexts []uint32
	Info            string
	Unknown         int
}

var aspInactiveAllowed = mask(TagRoutingContext, TagINFOString)

func (m *ASPInactive) length() int {
	return HeaderLen + u32sParamLen(m.RoutingContexts) + infoLen(m.Info)
}

func (m *ASPInactive) appendTo(b []byte, c Class, t uint8) ([]byte, error) {
	if err := checkList("Routing Context", len(m.RoutingContexts), 4); err != nil {
		return b, err
	}
	if err := checkInfo(m.Info); err != nil {
		return b, err
	}
	b = appendHeader(b, c, t, m.length())
	b = appendU32sParam(b, TagRoutingContext, m.RoutingContexts)
	return appendInfo(b, m.Info), nil
}

func (m *ASPInactive) unmarshal(b []byte, c Class, t uint8) error {
	body, err := checkHeader(b, c, t)
	if err != nil {
		return err
	}
	var p params
	if err := p.parse(body, HeaderLen, aspInactiveAllowed); err != nil {
		return err
	}
	*m = ASPInactive{RoutingContexts: p.routingContexts(), Info: string(p.info), Unknown: p.unknown}
	return nil
}

// ASPInactiveAck is the ASPTM ASP Inactive Ack message (RFC 4666 §3.7.4).
type ASPInactiveAck ASPInactive

// DUNA is the SSNM Destination Unavailable message (RFC 4666 §3.4.1).
// DAVA, DAUD and DRST have the same parameters.
type DUNA struct {
	NetworkAppearance    uint32
	HasNetworkAppearance bool
	RoutingContexts      []uint32
	AffectedPCs          []AffectedPC // mandatory
	Info                 string
	Unknown              int
}

var dunaAllowed = mask(TagNetworkAppearance, TagRoutingContext, TagAffectedPointCode, TagINFOString)

func (m *DUNA) length() int {
	n := HeaderLen + u32sParamLen(m.RoutingContexts) + apcParamLen(m.AffectedPCs) + infoLen(m.Info)
	if m.HasNetworkAppearance {
		n += 8
	}
	return n
}

func (m *DUNA) appendTo(b []byte, c Class, t uint8) ([]byte, error) {
	if err := checkList("Routing Context", len(m.RoutingContexts), 4); err != nil {
		return b, err
	}
	if len(m.AffectedPCs) == 0 {
		return b, encodeErr("%s without an Affected Point Code", MessageName(c, t))
	}
	if err := checkAPCs(m.AffectedPCs); err != nil {
		return b, err
	}
	if err := checkInfo(m.Info); err != nil {
		return b, err
	}
	b = appendHeader(b, c, t, m.length())
	if m.HasNetworkAppearance {
		b = appendU32Param(b, TagNetworkAppearance, m.NetworkAppearance)
	}
	b = appendU32sParam(b, TagRoutingContext, m.RoutingContexts)
	b = appendAPCParam(b, m.AffectedPCs)
	return appendInfo(b, m.Info), nil
}

func (m *DUNA) unmarshal(b []byte, c Class, t uint8) error {
	body, err := checkHeader(b, c, t)
	if err != nil {
		return err
	}
	var p params
	if err := p.parse(body, HeaderLen, dunaAllowed); err != nil {
		return err
	}
	if err := p.require(0, TagAffectedPointCode); err != nil {
		return err
	}
	*m = DUNA{RoutingContexts: p.routingContexts(), AffectedPCs: p.affectedPCs(), Info: string(p.info), Unknown: p.unknown}
	if p.has(TagNetworkAppearance) {
		m.NetworkAppearance, m.HasNetworkAppearance = p.na, true
	}
	return nil
}

// DAVA is the SSNM Destination Available message (RFC 4666 §3.4.2).
type DAVA DUNA

// DAUD is the SSNM Destination State Audit message (RFC 4666 §3.4.3).
type DAUD DUNA

// DRST is the SSNM Destination Restricted message (RFC 4666 §3.4.6).
type DRST DUNA

// SCON is the SSNM Signalling Congestion message (RFC 4666 §3.4.4).
type SCON struct {
	NetworkAppearance       uint32
	HasNetworkAppearance    bool
	RoutingContexts         []uint32
	AffectedPCs             []AffectedPC // mandatory
	ConcernedDestination    uint32       // 24-bit point code
	HasConcernedDestination bool
	CongestionLevel         uint8 // CongestionNone..CongestionLevel3
	HasCongestionLevel      bool
	Info                    string
	Unknown                 int
}

var sconAllowed = mask(TagNetworkAppearance, TagRoutingContext, TagAffectedPointCode,
	TagConcernedDestination, TagCongestionIndications, TagINFOString)

func (m *SCON) length() int {
	n := HeaderLen + u32sParamLen(m.RoutingContexts) + apcParamLen(m.AffectedPCs) + infoLen(m.Info)
	if m.HasNetworkAppearance {
		n += 8
	}
	if m.HasConcernedDestination {
		n += 8
	}
	if m.HasCongestionLevel {
		n += 8
	}
	return n
}

func (m *SCON) appendTo(b []byte, c Class, t uint8) ([]byte, error) {
	if err := checkList("Routing Context", len(m.RoutingContexts), 4); err != nil {
		return b, err
	}
	if len(m.AffectedPCs) == 0 {
		return b, encodeErr("SCON without an Affected Point Code")
	}
	if err := checkAPCs(m.AffectedPCs); err != nil {
		return b, err
	}
	if err := checkPC("Concerned Destination", m.ConcernedDestination); err != nil {
		return b, err
	}
	if err := checkInfo(m.Info); err != nil {
		return b, err
	}
	b = appendHeader(b, c, t, m.length())
	if m.HasNetworkAppearance {
		b = appendU32Param(b, TagNetworkAppearance, m.NetworkAppearance)
	}
	b = appendU32sParam(b, TagRoutingContext, m.RoutingContexts)
	b = appendAPCParam(b, m.AffectedPCs)
	if m.HasConcernedDestination {
		b = appendU32Param(b, TagConcernedDestination, m.ConcernedDestination)
	}
	if m.HasCongestionLevel {
		b = appendU32Param(b, TagCongestionIndications, uint32(m.CongestionLevel))
	}
	return appendInfo(b, m.Info), nil
}

func (m *SCON) unmarshal(b []byte, c Class, t uint8) error {
	body, err := checkHeader(b, c, t)
	if err != nil {
		return err
	}
	var p params
	if err := p.parse(body, HeaderLen, sconAllowed); err != nil {
		return err
	}
	if err := p.require(0, TagAffectedPointCode); err != nil {
		return err
	}
	*m = SCON{RoutingContexts: p.routingContexts(), AffectedPCs: p.affectedPCs(), Info: string(p.info), Unknown: p.unknown}
	if p.has(TagNetworkAppearance) {
		m.NetworkAppearance, m.HasNetworkAppearance = p.na, true
	}
	if p.has(TagConcernedDestination) {
		m.ConcernedDestination, m.HasConcernedDestination = p.concerned, true
	}
	if p.has(TagCongestionIndications) {
		m.CongestionLevel, m.HasCongestionLevel = p.congestion, true
	}
	return nil
}

// DUPU is the SSNM Destination User Part Unavailable message (RFC 4666
// §3.4.5).
type DUPU struct {
	NetworkAppearance    uint32
	HasNetworkAppearance bool
	RoutingContexts      []uint32
	AffectedPCs          []AffectedPC // mandatory
	UserCause            UserCause    // mandatory
	Info                 string
	Unknown              int
}

var dupuAllowed = mask(TagNetworkAppearance, TagRoutingContext, TagAffectedPointCode, TagUserCause, TagINFOString)

func (m *DUPU) length() int {
	n := HeaderLen + u32sParamLen(m.RoutingContexts) + apcParamLen(m.AffectedPCs) + 8 + infoLen(m.Info)
	if m.HasNetworkAppearance {
		n += 8
	}
	return n
}

func (m *DUPU) appendTo(b []byte, c Class, t uint8) ([]byte, error) {
	if err := checkList("Routing Context", len(m.RoutingContexts), 4); err != nil {
		return b, err
	}
	if len(m.AffectedPCs) == 0 {
		return b, encodeErr("DUPU without an Affected Point Code")
	}
	if err := checkAPCs(m.AffectedPCs); err != nil {
		return b, err
	}
	if err := checkInfo(m.Info); err != nil {
		return b, err
	}
	b = appendHeader(b, c, t, m.length())
	if m.HasNetworkAppearance {
		b = appendU32Param(b, TagNetworkAppearance, m.NetworkAppearance)
	}
	b = appendU32sParam(b, TagRoutingContext, m.RoutingContexts)
	b = appendAPCParam(b, m.AffectedPCs)
	b = appendU32Param(b, TagUserCause, uint32(m.UserCause.Cause)<<16|uint32(m.UserCause.User))
	return appendInfo(b, m.Info), nil
}

func (m *DUPU) unmarshal(b []byte, c Class, t uint8) error {
	body, err := checkHeader(b, c, t)
	if err != nil {
		return err
	}
	var p params
	if err := p.parse(body, HeaderLen, dupuAllowed); err != nil {
		return err
	}
	if err := p.require(0, TagAffectedPointCode, TagUserCause); err != nil {
		return err
	}
	*m = DUPU{RoutingContexts: p.routingContexts(), AffectedPCs: p.affectedPCs(), UserCause: p.userCause, Info: string(p.info), Unknown: p.unknown}
	if p.has(TagNetworkAppearance) {
		m.NetworkAppearance, m.HasNetworkAppearance = p.na, true
	}
	return nil
}

func checkAPCs(v []AffectedPC) error {
	if err := checkList("Affected Point Code", len(v), 4); err != nil {
		return err
	}
	for _, a := range v {
		if err := checkPC("Affected Point Code", a.PC); err != nil {
			return err
		}
	}
	return nil
}
