package tcap

import "callgate/sigtran/ber"

// elLen is the encoded size of a low-tag element with n content octets.
func elLen(n int) int { return 1 + ber.LengthLen(n) + n }

// appendHdr appends a one-octet identifier and the shortest definite length.
func appendHdr(dst []byte, id byte, n int) []byte {
	dst = append(dst, id)
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n < 0x100:
		return append(dst, 0x81, byte(n))
	case n < 0x10000:
		return append(dst, 0x82, byte(n>>8), byte(n))
	}
	return append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
}

func (c *ContextID) len() int {
	switch c.Kind {
	case IntegerContext:
		return elLen(ber.UintLen(c.Int))
	case OIDContext:
		return elLen(len(c.OID))
	}
	return 0
}

func (c *ContextID) append(dst []byte, intID, oidID byte) []byte {
	switch c.Kind {
	case IntegerContext:
		dst = appendHdr(dst, intID, ber.UintLen(c.Int))
		return ber.AppendUint(dst, c.Int)
	case OIDContext:
		dst = appendHdr(dst, oidID, len(c.OID))
		return append(dst, c.OID...)
	}
	return dst
}

func (d *DialoguePortion) contentLen() int {
	n := 0
	if d.HasVersion {
		n += 3
	}
	n += d.AppContext.len()
	if d.HasUserInfo {
		n += elLen(len(d.UserInfo))
	}
	n += d.Security.len()
	if d.HasConfidentiality {
		n += elLen(len(d.Confidentiality))
	}
	return n
}

func (d *DialoguePortion) append(dst []byte) []byte {
	dst = appendHdr(dst, idDialogue, d.contentLen())
	if d.HasVersion {
		dst = append(dst, idVersion, 1, d.Version)
	}
	dst = d.AppContext.append(dst, idIntAppContext, idOIDAppContext)
	if d.HasUserInfo {
		dst = appendHdr(dst, idUserInfo, len(d.UserInfo))
		dst = append(dst, d.UserInfo...)
	}
	dst = d.Security.append(dst, idIntSecurity, idOIDSecurity)
	if d.HasConfidentiality {
		dst = appendHdr(dst, idConfidential, len(d.Confidentiality))
		dst = append(dst, d.Confidentiality...)
	}
	return dst
}

// paramID returns the parameter wrapper identifier to emit (0 = none).
func (c *Component) paramID() byte {
	if c.ParamTag != NoParams {
		return byte(c.ParamTag)
	}
	if len(c.Params) > 0 || c.Type == Reject {
		// A Reject's (empty) parameter is mandatory in T1.114.
		return idParamSet
	}
	return 0
}

func (c *Component) idsLen() int {
	switch {
	case c.Type.IsInvoke():
		if c.HasCorrelationID {
			return 2
		}
		if c.HasInvokeID {
			return 1
		}
		return 0
	case c.HasCorrelationID:
		return 1
	}
	return 0
}

func (c *Component) contentLen() int {
	// The component IDs element is always sent, empty ("cf 00") for an
	// invoke without ID or a Reject of a component whose ID was unreadable.
	n := elLen(c.idsLen())
	switch {
	case c.Type.IsInvoke():
		n += 4
	case c.Type == ReturnError:
		n += 3
	case c.Type == Reject:
		n += 4
	}
	if c.paramID() != 0 {
		n += elLen(len(c.Params))
	}
	return n
}

// MarshalLen returns the encoded size of the component.
func (c *Component) MarshalLen() int { return elLen(c.contentLen()) }

func (c *Component) check() error {
	if !c.Type.valid() {
		return encodeErr("cannot encode component type 0x%02x", uint8(c.Type))
	}
	if c.Type.IsInvoke() && c.HasCorrelationID && !c.HasInvokeID {
		return encodeErr("invoke with a correlation ID but no invoke ID")
	}
	if (c.Type.IsReturnResult() || c.Type == ReturnError) && !c.HasCorrelationID {
		return encodeErr("%v needs the correlation ID of the invoke it answers", c.Type)
	}
	switch c.ParamTag {
	case NoParams, ParamSet, ParamSequence:
	case ParamSeqPriv:
		if c.Type != Reject {
			return encodeErr("parameter tag 0xf0 is only for a Reject")
		}
	default:
		return encodeErr("unknown parameter tag 0x%02x", uint8(c.ParamTag))
	}
	return nil
}

// AppendTo appends the encoded component.
func (c *Component) AppendTo(dst []byte) ([]byte, error) {
	if err := c.check(); err != nil {
		return dst, err
	}
	return c.append(dst), nil
}

func (c *Component) append(dst []byte) []byte { return c.appendLen(dst, c.contentLen()) }

// appendLen is append with the content length already measured.
func (c *Component) appendLen(dst []byte, contentLen int) []byte {
	dst = appendHdr(dst, byte(c.Type), contentLen)
	n := c.idsLen()
	dst = append(dst, idComponentIDs, byte(n))
	if c.Type.IsInvoke() {
		if n >= 1 {
			dst = append(dst, c.InvokeID)
		}
		if n == 2 {
			dst = append(dst, c.CorrelationID)
		}
	} else if n == 1 {
		dst = append(dst, c.CorrelationID)
	}
	switch {
	case c.Type.IsInvoke():
		id := byte(idNationalOp)
		if c.Op.Class == Private {
			id = idPrivateOp
		}
		dst = append(dst, id, 2, byte(c.Op.Code>>8), byte(c.Op.Code))
	case c.Type == ReturnError:
		id := byte(idNationalErr)
		if c.Error.Class == Private {
			id = idPrivateErr
		}
		dst = append(dst, id, 1, c.Error.Code)
	case c.Type == Reject:
		dst = append(dst, idProblem, 2, byte(c.Problem>>8), byte(c.Problem))
	}
	if id := c.paramID(); id != 0 {
		dst = appendHdr(dst, id, len(c.Params))
		dst = append(dst, c.Params...)
	}
	return dst
}

func (m *Message) tidLen() int {
	switch {
	case m.Type.IsConversation():
		return m.OrigTID.Len() + m.RespTID.Len()
	case m.Type.IsQuery():
		return m.OrigTID.Len()
	case m.Type.hasResp():
		return m.RespTID.Len()
	}
	return 0
}

func (m *Message) componentsLen() int {
	n := 0
	for i := range m.Components {
		n += m.Components[i].MarshalLen()
	}
	return n
}

func (m *Message) hasComponentSeq() bool {
	return m.Type != Abort && (m.HasComponents || len(m.Components) > 0 || m.Type == Unidirectional)
}

func (m *Message) contentLen() int {
	cl := 0
	if m.hasComponentSeq() {
		cl = m.componentsLen()
	}
	return m.contentLenWith(cl)
}

// contentLenWith is contentLen with the component sequence's contents
// already measured (cl), so that AppendTo measures the components once.
func (m *Message) contentLenWith(cl int) int {
	n := elLen(m.tidLen())
	if m.Dialogue.Present {
		n += elLen(m.Dialogue.contentLen())
	}
	if m.hasComponentSeq() {
		n += elLen(cl)
	}
	if m.Type == Abort {
		switch {
		case m.AbortCause != 0:
			n += 3
		case m.HasUserAbort:
			n += elLen(len(m.UserAbort))
		}
	}
	return n
}

// MarshalLen returns the encoded size of the package.
func (m *Message) MarshalLen() int { return elLen(m.contentLen()) }

// MarshalBinary returns the encoded package in a new buffer.
func (m *Message) MarshalBinary() ([]byte, error) {
	return m.AppendTo(make([]byte, 0, m.MarshalLen()))
}

func (m *Message) check() error {
	if !m.Type.Valid() {
		return encodeErr("cannot encode package type 0x%02x", uint8(m.Type))
	}
	if m.Type.hasOrig() && m.OrigTID.IsZero() {
		return encodeErr("%v needs an originating TID", m.Type)
	}
	if m.Type.hasResp() && m.RespTID.IsZero() {
		return encodeErr("%v needs a responding TID", m.Type)
	}
	if m.Type.IsConversation() && m.OrigTID.Len() != m.RespTID.Len() {
		// The receiver splits the field in two halves.
		return encodeErr("conversation TIDs of different lengths (%d, %d)", m.OrigTID.Len(), m.RespTID.Len())
	}
	if m.Type == Abort && (len(m.Components) > 0 || m.HasComponents) {
		return encodeErr("abort package cannot carry components")
	}
	if m.Type == Abort && m.AbortCause != 0 && m.HasUserAbort {
		return encodeErr("abort carries either a P-Abort cause or user abort information")
	}
	for i := range m.Components {
		if err := m.Components[i].check(); err != nil {
			err.(*Error).Component = i
			return err
		}
	}
	return nil
}

// AppendTo appends the encoded package to dst.
func (m *Message) AppendTo(dst []byte) ([]byte, error) {
	if err := m.check(); err != nil {
		return dst, err
	}
	// Each component is measured once: its length goes into the
	// sequence's, and is its own header's (the first few are kept).
	var lens [4]int
	seq := m.hasComponentSeq()
	cl := 0
	if seq {
		for i := range m.Components {
			n := m.Components[i].contentLen()
			if i < len(lens) {
				lens[i] = n
			}
			cl += elLen(n)
		}
	}
	dst = appendHdr(dst, byte(m.Type), m.contentLenWith(cl))
	dst = appendHdr(dst, idTID, m.tidLen())
	if m.Type.hasOrig() {
		dst = m.OrigTID.Append(dst)
	}
	if m.Type.hasResp() {
		dst = m.RespTID.Append(dst)
	}
	if m.Dialogue.Present {
		dst = m.Dialogue.append(dst)
	}
	if seq {
		dst = appendHdr(dst, idComponentSeq, cl)
		for i := range m.Components {
			c := &m.Components[i]
			if i < len(lens) {
				dst = c.appendLen(dst, lens[i])
			} else {
				dst = c.append(dst)
			}
		}
	}
	if m.Type == Abort {
		switch {
		case m.AbortCause != 0:
			dst = append(dst, idPAbortCause, 1, byte(m.AbortCause))
		case m.HasUserAbort:
			dst = appendHdr(dst, idUserAbort, len(m.UserAbort))
			dst = append(dst, m.UserAbort...)
		}
	}
	return dst, nil
}
