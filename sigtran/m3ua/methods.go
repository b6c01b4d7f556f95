package m3ua

// Per-type methods: each binds a message type to its shape (messages.go),
// class and type. Written out rather than generated through reflection so
// the hot path stays direct calls.

// MessageClass returns ClassMGMT.
func (m *Err) MessageClass() Class { return ClassMGMT }

// MessageType returns TypeERR.
func (m *Err) MessageType() uint8 { return TypeERR }

// MarshalLen returns the encoded length of the ERR message.
func (m *Err) MarshalLen() int { return m.length() }

// AppendTo appends the encoded ERR message to b.
func (m *Err) AppendTo(b []byte) ([]byte, error) { return m.appendTo(b, ClassMGMT, TypeERR) }

// MarshalBinary returns the encoded ERR message.
func (m *Err) MarshalBinary() ([]byte, error) { return m.AppendTo(make([]byte, 0, m.MarshalLen())) }

// UnmarshalBinary decodes a ERR message from the start of b.
func (m *Err) UnmarshalBinary(b []byte) error { return m.unmarshal(b, ClassMGMT, TypeERR) }

// MessageClass returns ClassMGMT.
func (m *Notify) MessageClass() Class { return ClassMGMT }

// MessageType returns TypeNTFY.
func (m *Notify) MessageType() uint8 { return TypeNTFY }

// MarshalLen returns the encoded length of the NTFY message.
func (m *Notify) MarshalLen() int { return m.length() }

// AppendTo appends the encoded NTFY message to b.
func (m *Notify) AppendTo(b []byte) ([]byte, error) { return m.appendTo(b, ClassMGMT, TypeNTFY) }

// MarshalBinary returns the encoded NTFY message.
func (m *Notify) MarshalBinary() ([]byte, error) { return m.AppendTo(make([]byte, 0, m.MarshalLen())) }

// UnmarshalBinary decodes a NTFY message from the start of b.
func (m *Notify) UnmarshalBinary(b []byte) error { return m.unmarshal(b, ClassMGMT, TypeNTFY) }

// MessageClass returns ClassASPSM.
func (m *ASPUp) MessageClass() Class { return ClassASPSM }

// MessageType returns TypeASPUp.
func (m *ASPUp) MessageType() uint8 { return TypeASPUp }

// MarshalLen returns the encoded length of the ASP Up message.
func (m *ASPUp) MarshalLen() int { return m.length() }

// AppendTo appends the encoded ASP Up message to b.
func (m *ASPUp) AppendTo(b []byte) ([]byte, error) { return m.appendTo(b, ClassASPSM, TypeASPUp) }

// MarshalBinary returns the encoded ASP Up message.
func (m *ASPUp) MarshalBinary() ([]byte, error) { return m.AppendTo(make([]byte, 0, m.MarshalLen())) }

// UnmarshalBinary decodes a ASP Up message from the start of b.
func (m *ASPUp) UnmarshalBinary(b []byte) error { return m.unmarshal(b, ClassASPSM, TypeASPUp) }

// MessageClass returns ClassASPSM.
func (m *ASPUpAck) MessageClass() Class { return ClassASPSM }

// MessageType returns TypeASPUpAck.
func (m *ASPUpAck) MessageType() uint8 { return TypeASPUpAck }

// MarshalLen returns the encoded length of the ASP Up Ack message.
func (m *ASPUpAck) MarshalLen() int { return (*ASPUp)(m).length() }

// AppendTo appends the encoded ASP Up Ack message to b.
func (m *ASPUpAck) AppendTo(b []byte) ([]byte, error) {
	return (*ASPUp)(m).appendTo(b, ClassASPSM, TypeASPUpAck)
}

// MarshalBinary returns the encoded ASP Up Ack message.
func (m *ASPUpAck) MarshalBinary() ([]byte, error) {
	return m.AppendTo(make([]byte, 0, m.MarshalLen()))
}

// UnmarshalBinary decodes a ASP Up Ack message from the start of b.
func (m *ASPUpAck) UnmarshalBinary(b []byte) error {
	return (*ASPUp)(m).unmarshal(b, ClassASPSM, TypeASPUpAck)
}

// MessageClass returns ClassASPSM.
func (m *ASPDown) MessageClass() Class { return ClassASPSM }

// MessageType returns TypeASPDown.
func (m *ASPDown) MessageType() uint8 { return TypeASPDown }

// MarshalLen returns the encoded length of the ASP Down message.
func (m *ASPDown) MarshalLen() int { return m.length() }

// AppendTo appends the encoded ASP Down message to b.
func (m *ASPDown) AppendTo(b []byte) ([]byte, error) { return m.appendTo(b, ClassASPSM, TypeASPDown) }

// MarshalBinary returns the encoded ASP Down message.
func (m *ASPDown) MarshalBinary() ([]byte, error) { return m.AppendTo(make([]byte, 0, m.MarshalLen())) }

// UnmarshalBinary decodes a ASP Down message from the start of b.
func (m *ASPDown) UnmarshalBinary(b []byte) error { return m.unmarshal(b, ClassASPSM, TypeASPDown) }

// MessageClass returns ClassASPSM.
func (m *ASPDownAck) MessageClass() Class { return ClassASPSM }

// MessageType returns TypeASPDownAck.
func (m *ASPDownAck) MessageType() uint8 { return TypeASPDownAck }

// MarshalLen returns the encoded length of the ASP Down Ack message.
func (m *ASPDownAck) MarshalLen() int { return (*ASPDown)(m).length() }

// AppendTo appends the encoded ASP Down Ack message to b.
func (m *ASPDownAck) AppendTo(b []byte) ([]byte, error) {
	return (*ASPDown)(m).appendTo(b, ClassASPSM, TypeASPDownAck)
}

// MarshalBinary returns the encoded ASP Down Ack message.
func (m *ASPDownAck) MarshalBinary() ([]byte, error) {
	return m.AppendTo(make([]byte, 0, m.MarshalLen()))
}

// UnmarshalBinary decodes a ASP Down Ack message from the start of b.
func (m *ASPDownAck) UnmarshalBinary(b []byte) error {
	return (*ASPDown)(m).unmarshal(b, ClassASPSM, TypeASPDownAck)
}

// MessageClass returns ClassASPSM.
func (m *Beat) MessageClass() Class { return ClassASPSM }

// MessageType returns TypeBEAT.
func (m *Beat) MessageType() uint8 { return TypeBEAT }

// MarshalLen returns the encoded length of the BEAT message.
func (m *Beat) MarshalLen() int { return m.length() }

// AppendTo appends the encoded BEAT message to b.
func (m *Beat) AppendTo(b []byte) ([]byte, error) { return m.appendTo(b, ClassASPSM, TypeBEAT) }

// MarshalBinary returns the encoded BEAT message.
func (m *Beat) MarshalBinary() ([]byte, error) { return m.AppendTo(make([]byte, 0, m.MarshalLen())) }

// UnmarshalBinary decodes a BEAT message from the start of b.
func (m *Beat) UnmarshalBinary(b []byte) error { return m.unmarshal(b, ClassASPSM, TypeBEAT) }

// MessageClass returns ClassASPSM.
func (m *BeatAck) MessageClass() Class { return ClassASPSM }

// MessageType returns TypeBEATAck.
func (m *BeatAck) MessageType() uint8 { return TypeBEATAck }

// MarshalLen returns the encoded length of the BEAT Ack message.
func (m *BeatAck) MarshalLen() int { return (*Beat)(m).length() }

// AppendTo appends the encoded BEAT Ack message to b.
func (m *BeatAck) AppendTo(b []byte) ([]byte, error) {
	return (*Beat)(m).appendTo(b, ClassASPSM, TypeBEATAck)
}

// MarshalBinary returns the encoded BEAT Ack message.
func (m *BeatAck) MarshalBinary() ([]byte, error) { return m.AppendTo(make([]byte, 0, m.MarshalLen())) }

// UnmarshalBinary decodes a BEAT Ack message from the start of b.
func (m *BeatAck) UnmarshalBinary(b []byte) error {
	return (*Beat)(m).unmarshal(b, ClassASPSM, TypeBEATAck)
}

// MessageClass returns ClassASPTM.
func (m *ASPActive) MessageClass() Class { return ClassASPTM }

// MessageType returns TypeASPActive.
func (m *ASPActive) MessageType() uint8 { return TypeASPActive }

// MarshalLen returns the encoded length of the ASP Active message.
func (m *ASPActive) MarshalLen() int { return m.length() }

// AppendTo appends the encoded ASP Active message to b.
func (m *ASPActive) AppendTo(b []byte) ([]byte, error) {
	return m.appendTo(b, ClassASPTM, TypeASPActive)
}

// MarshalBinary returns the encoded ASP Active message.
func (m *ASPActive) MarshalBinary() ([]byte, error) {
	return m.AppendTo(make([]byte, 0, m.MarshalLen()))
}

// UnmarshalBinary decodes a ASP Active message from the start of b.
func (m *ASPActive) UnmarshalBinary(b []byte) error { return m.unmarshal(b, ClassASPTM, TypeASPActive) }

// MessageClass returns ClassASPTM.
func (m *ASPActiveAck) MessageClass() Class { return ClassASPTM }

// MessageType returns TypeASPActiveAck.
func (m *ASPActiveAck) MessageType() uint8 { return TypeASPActiveAck }

// MarshalLen returns the encoded length of the ASP Active Ack message.
func (m *ASPActiveAck) MarshalLen() int { return (*ASPActive)(m).length() }

// AppendTo appends the encoded ASP Active Ack message to b.
func (m *ASPActiveAck) AppendTo(b []byte) ([]byte, error) {
	return (*ASPActive)(m).appendTo(b, ClassASPTM, TypeASPActiveAck)
}

// MarshalBinary returns the encoded ASP Active Ack message.
func (m *ASPActiveAck) MarshalBinary() ([]byte, error) {
	return m.AppendTo(make([]byte, 0, m.MarshalLen()))
}

// UnmarshalBinary decodes a ASP Active Ack message from the start of b.
func (m *ASPActiveAck) UnmarshalBinary(b []byte) error {
	return (*ASPActive)(m).unmarshal(b, ClassASPTM, TypeASPActiveAck)
}

// MessageClass returns ClassASPTM.
func (m *ASPInactive) MessageClass() Class { return ClassASPTM }

// MessageType returns TypeASPInactive.
func (m *ASPInactive) MessageType() uint8 { return TypeASPInactive }

// MarshalLen returns the encoded length of the ASP Inactive message.
func (m *ASPInactive) MarshalLen() int { return m.length() }

// AppendTo appends the encoded ASP Inactive message to b.
func (m *ASPInactive) AppendTo(b []byte) ([]byte, error) {
	return m.appendTo(b, ClassASPTM, TypeASPInactive)
}

// MarshalBinary returns the encoded ASP Inactive message.
func (m *ASPInactive) MarshalBinary() ([]byte, error) {
	return m.AppendTo(make([]byte, 0, m.MarshalLen()))
}

// UnmarshalBinary decodes a ASP Inactive message from the start of b.
func (m *ASPInactive) UnmarshalBinary(b []byte) error {
	return m.unmarshal(b, ClassASPTM, TypeASPInactive)
}

// MessageClass returns ClassASPTM.
func (m *ASPInactiveAck) MessageClass() Class { return ClassASPTM }

// MessageType returns TypeASPInactiveAck.
func (m *ASPInactiveAck) MessageType() uint8 { return TypeASPInactiveAck }

// MarshalLen returns the encoded length of the ASP Inactive Ack message.
func (m *ASPInactiveAck) MarshalLen() int { return (*ASPInactive)(m).length() }

// AppendTo appends the encoded ASP Inactive Ack message to b.
func (m *ASPInactiveAck) AppendTo(b []byte) ([]byte, error) {
	return (*ASPInactive)(m).appendTo(b, ClassASPTM, TypeASPInactiveAck)
}

// MarshalBinary returns the encoded ASP Inactive Ack message.
func (m *ASPInactiveAck) MarshalBinary() ([]byte, error) {
	return m.AppendTo(make([]byte, 0, m.MarshalLen()))
}

// UnmarshalBinary decodes a ASP Inactive Ack message from the start of b.
func (m *ASPInactiveAck) UnmarshalBinary(b []byte) error {
	return (*ASPInactive)(m).unmarshal(b, ClassASPTM, TypeASPInactiveAck)
}

// MessageClass returns ClassSSNM.
func (m *DUNA) MessageClass() Class { return ClassSSNM }

// MessageType returns TypeDUNA.
func (m *DUNA) MessageType() uint8 { return TypeDUNA }

// MarshalLen returns the encoded length of the DUNA message.
func (m *DUNA) MarshalLen() int { return m.length() }

// AppendTo appends the encoded DUNA message to b.
func (m *DUNA) AppendTo(b []byte) ([]byte, error) { return m.appendTo(b, ClassSSNM, TypeDUNA) }

// MarshalBinary returns the encoded DUNA message.
func (m *DUNA) MarshalBinary() ([]byte, error) { return m.AppendTo(make([]byte, 0, m.MarshalLen())) }

// UnmarshalBinary decodes a DUNA message from the start of b.
func (m *DUNA) UnmarshalBinary(b []byte) error { return m.unmarshal(b, ClassSSNM, TypeDUNA) }

// MessageClass returns ClassSSNM.
func (m *DAVA) MessageClass() Class { return ClassSSNM }

// MessageType returns TypeDAVA.
func (m *DAVA) MessageType() uint8 { return TypeDAVA }

// MarshalLen returns the encoded length of the DAVA message.
func (m *DAVA) MarshalLen() int { return (*DUNA)(m).length() }

// AppendTo appends the encoded DAVA message to b.
func (m *DAVA) AppendTo(b []byte) ([]byte, error) { return (*DUNA)(m).appendTo(b, ClassSSNM, TypeDAVA) }

// MarshalBinary returns the encoded DAVA message.
func (m *DAVA) MarshalBinary() ([]byte, error) { return m.AppendTo(make([]byte, 0, m.MarshalLen())) }

// UnmarshalBinary decodes a DAVA message from the start of b.
func (m *DAVA) UnmarshalBinary(b []byte) error { return (*DUNA)(m).unmarshal(b, ClassSSNM, TypeDAVA) }

// MessageClass returns ClassSSNM.
func (m *DAUD) MessageClass() Class { return ClassSSNM }

// MessageType returns TypeDAUD.
func (m *DAUD) MessageType() uint8 { return TypeDAUD }

// MarshalLen returns the encoded length of the DAUD message.
func (m *DAUD) MarshalLen() int { return (*DUNA)(m).length() }

// AppendTo appends the encoded DAUD message to b.
func (m *DAUD) AppendTo(b []byte) ([]byte, error) { return (*DUNA)(m).appendTo(b, ClassSSNM, TypeDAUD) }

// MarshalBinary returns the encoded DAUD message.
func (m *DAUD) MarshalBinary() ([]byte, error) { return m.AppendTo(make([]byte, 0, m.MarshalLen())) }

// UnmarshalBinary decodes a DAUD message from the start of b.
func (m *DAUD) UnmarshalBinary(b []byte) error { return (*DUNA)(m).unmarshal(b, ClassSSNM, TypeDAUD) }

// MessageClass returns ClassSSNM.
func (m *DRST) MessageClass() Class { return ClassSSNM }

// MessageType returns TypeDRST.
func (m *DRST) MessageType() uint8 { return TypeDRST }

// MarshalLen returns the encoded length of the DRST message.
func (m *DRST) MarshalLen() int { return (*DUNA)(m).length() }

// AppendTo appends the encoded DRST message to b.
func (m *DRST) AppendTo(b []byte) ([]byte, error) { return (*DUNA)(m).appendTo(b, ClassSSNM, TypeDRST) }

// MarshalBinary returns the encoded DRST message.
func (m *DRST) MarshalBinary() ([]byte, error) { return m.AppendTo(make([]byte, 0, m.MarshalLen())) }

// UnmarshalBinary decodes a DRST message from the start of b.
func (m *DRST) UnmarshalBinary(b []byte) error { return (*DUNA)(m).unmarshal(b, ClassSSNM, TypeDRST) }

// MessageClass returns ClassSSNM.
func (m *SCON) MessageClass() Class { return ClassSSNM }

// MessageType returns TypeSCON.
func (m *SCON) MessageType() uint8 { return TypeSCON }

// MarshalLen returns the encoded length of the SCON message.
func (m *SCON) MarshalLen() int { return m.length() }

// AppendTo appends the encoded SCON message to b.
func (m *SCON) AppendTo(b []byte) ([]byte, error) { return m.appendTo(b, ClassSSNM, TypeSCON) }

// MarshalBinary returns the encoded SCON message.
func (m *SCON) MarshalBinary() ([]byte, error) { return m.AppendTo(make([]byte, 0, m.MarshalLen())) }

// UnmarshalBinary decodes a SCON message from the start of b.
func (m *SCON) UnmarshalBinary(b []byte) error { return m.unmarshal(b, ClassSSNM, TypeSCON) }

// MessageClass returns ClassSSNM.
func (m *DUPU) MessageClass() Class { return ClassSSNM }

// MessageType returns TypeDUPU.
func (m *DUPU) MessageType() uint8 { return TypeDUPU }

// MarshalLen returns the encoded length of the DUPU message.
func (m *DUPU) MarshalLen() int { return m.length() }

// AppendTo appends the encoded DUPU message to b.
func (m *DUPU) AppendTo(b []byte) ([]byte, error) { return m.appendTo(b, ClassSSNM, TypeDUPU) }

// MarshalBinary returns the encoded DUPU message.
func (m *DUPU) MarshalBinary() ([]byte, error) { return m.AppendTo(make([]byte, 0, m.MarshalLen())) }

// UnmarshalBinary decodes a DUPU message from the start of b.
func (m *DUPU) UnmarshalBinary(b []byte) error { return m.unmarshal(b, ClassSSNM, TypeDUPU) }
