package tcap

import (
	"fmt"

	"callgate/sigtran/ber"
)

// ContextKind says how a dialogue-portion context is identified.
type ContextKind uint8

// Context kinds.
const (
	NoContext ContextKind = iota
	IntegerContext
	OIDContext
)

// ContextID is an application or security context: an integer or an
// object identifier (OID contents octets, aliased on decode).
type ContextID struct {
	Kind ContextKind
	Int  uint64
	OID  []byte
}

// DialoguePortion is the optional [PRIVATE 25] dialogue portion (T1.114-2000).
// Unknown elements are skipped on decode; known ones are re-encoded in
// T1.114 order.
type DialoguePortion struct {
	Present    bool
	HasVersion bool
	Version    uint8 // 1 = T1.114-1996, 2 = T1.114-2000, OR-able
	AppContext ContextID
	// UserInfo is the contents of User Information [PRIVATE 29] (a
	// SEQUENCE OF EXTERNAL), kept raw; HasUserInfo marks presence.
	HasUserInfo bool
	UserInfo    []byte
	Security    ContextID
	// Confidentiality is the contents of [2], kept raw.
	HasConfidentiality bool
	Confidentiality    []byte
}

// ParamTag says how a component's parameters are wrapped.
type ParamTag uint8

// Parameter wrappers. The zero value means "Parameter Set if there are
// parameters, nothing otherwise" when encoding; Invoke arguments with no
// parameters are sent as an explicit empty set (ParamSet) by AIN.
const (
	NoParams      ParamTag = 0
	ParamSet      ParamTag = idParamSet      // [PRIVATE 18] SET, what AIN uses
	ParamSequence ParamTag = idParamSeq      // UNIVERSAL SEQUENCE (T1.114)
	ParamSeqPriv  ParamTag = idRejectParamSq // [PRIVATE 16] as Wireshark models the Reject's sequence
)

// Component is one component of the component portion.
//
// IDs: an Invoke carries its own InvokeID and, when linked to an earlier
// invoke of the peer, a CorrelationID. Return Result, Return Error and
// Reject carry one ID, the correlation ID (the invoke ID they answer); a
// Reject without it is sent as "cf 00".
type Component struct {
	Type             ComponentType
	HasInvokeID      bool
	InvokeID         uint8
	HasCorrelationID bool
	CorrelationID    uint8
	Op               Operation // Invoke
	Error            ErrorCode // Return Error
	Problem          Problem   // Reject
	ParamTag         ParamTag  // as received; see ParamTag for encoding
	Params           []byte    // parameter contents (AIN parameters), aliased on decode
	Offset           int       // offset of the component in the message (decode only)
}

// Message is one TCAP package.
type Message struct {
	Type PackageType
	// OrigTID is the sender's own TID (Query, Conversation).
	OrigTID TID
	// RespTID is the receiver's TID (Response, Conversation, Abort).
	RespTID  TID
	Dialogue DialoguePortion
	// HasComponents marks a component sequence (possibly empty); Encode
	// also emits one whenever Components is non-empty, and always for
	// Unidirectional.
	HasComponents bool
	Components    []Component
	// Abort only: a P-Abort cause, or User Abort Information (contents of
	// the [PRIVATE 24] EXTERNAL, raw).
	AbortCause   PAbortCause
	HasUserAbort bool
	UserAbort    []byte
}

// ident rebuilds the identifier octet of a low-tag-number element; high tag
// numbers, which TCAP never uses, map to 0xFF. It takes the element by
// pointer: the decoder reads elements in place (ber.NextInto), and a
// by-value copy of one just stored field by field stalls the CPU. For the
// same reason the decoder builds its iterators with ber.NewIter where it
// uses them (TLV.Children, or a helper around NewIter, copies the Iter).
func ident(t *ber.TLV) byte {
	if t.Tag >= 0x1F {
		return 0xFF
	}
	id := byte(t.Class) | byte(t.Tag)
	if t.Constructed {
		id |= 0x20
	}
	return id
}

// UnmarshalBinary decodes b; see Decode.
func (m *Message) UnmarshalBinary(b []byte) error { return m.Decode(b) }

// Decode decodes one TCAP package from b. Components are appended to the
// reused m.Components slice; byte fields alias b. On error m holds what was
// decoded so far: after a component error the transaction portion (type,
// TIDs) is valid, so the caller can address the Reject. The error is an
// *Error telling which Abort cause or Reject problem answers it.
func (m *Message) Decode(b []byte) error {
	comps := m.Components[:0]
	*m = Message{Components: comps}
	if len(b) == 0 {
		return abortErr(UnrecognizedPackageType, 0, "empty message")
	}
	typ := PackageType(b[0])
	if !typ.Valid() {
		m.salvageTID(b)
		return abortErr(UnrecognizedPackageType, 0, "unrecognized package type 0x%02x", b[0])
	}
	m.Type = typ
	// Elements are read in place (ber.ParseInto, Iter.NextInto): copying
	// a TLV out of a call costs more than reading it.
	var pkg ber.TLV
	rest, err := ber.ParseInto(b, 0, &pkg)
	if err != nil {
		m.salvageTID(b)
		return abortErr(BadlyStructuredTransactionPortion, errOffset(err), "package: %v", berWhat(err))
	}
	if len(rest) != 0 {
		m.salvageTID(b)
		return abortErr(BadlyStructuredTransactionPortion, pkg.Len(), "%d octets after the package", len(rest))
	}
	it := ber.NewIter(pkg.Value, pkg.Offset+pkg.HeaderLen)
	// Transaction ID, mandatory and first. The component sequence is
	// decoded after the loop (an error in the transaction portion wins): it
	// stays in the slot it was read into, and what follows it goes to the
	// other one.
	var slots [2]ber.TLV
	e := &slots[0]
	if !it.NextInto(e) {
		if it.Err() != nil {
			return abortErr(BadlyStructuredTransactionPortion, errOffset(it.Err()), "transaction ID: %v", berWhat(it.Err()))
		}
		return abortErr(IncorrectTransactionPortion, pkg.HeaderLen, "missing transaction ID")
	}
	if ident(e) != idTID {
		return abortErr(IncorrectTransactionPortion, e.Offset, "first element 0x%02x is not the transaction ID", ident(e))
	}
	if err := m.setTIDs(e); err != nil {
		return err
	}
	sawDialogue, sawComponents, sawCause := false, false, false
	var compTLV *ber.TLV
	for it.NextInto(e) {
		id := ident(e)
		switch {
		case id == idDialogue && !sawDialogue && !sawComponents && !sawCause:
			sawDialogue = true
			if err := m.Dialogue.decode(e); err != nil {
				return err
			}
		case id == idComponentSeq && typ != Abort && !sawComponents:
			sawComponents = true
			compTLV, e = e, &slots[1]
		case (id == idPAbortCause || id == idUserAbort) && typ == Abort && !sawCause:
			sawCause = true
			if id == idPAbortCause {
				v, ok := ber.Uint(e.Value)
				if !ok || v == 0 || v > 255 {
					return abortErr(IncorrectTransactionPortion, e.Offset, "P-Abort cause %x out of range", e.Value)
				}
				m.AbortCause = PAbortCause(v)
			} else {
				m.HasUserAbort = true
				m.UserAbort = e.Value
			}
		default:
			return abortErr(IncorrectTransactionPortion, e.Offset, "unexpected element 0x%02x in %v package", id, typ)
		}
	}
	if it.Err() != nil {
		return abortErr(BadlyStructuredTransactionPortion, errOffset(it.Err()), "%v", berWhat(it.Err()))
	}
	if typ == Unidirectional && !sawComponents {
		return abortErr(IncorrectTransactionPortion, pkg.Len(), "unidirectional package without a component sequence")
	}
	if sawComponents {
		m.HasComponents = true
		return m.decodeComponents(compTLV)
	}
	return nil
}

// DecodeTransaction decodes only the package type and the transaction
// IDs of b, which is what dispatching a package to the owner of its
// transaction needs (Transactions.ShardOf), without decoding the dialogue
// portion or the components. It does not check the rest of the package
// (Decode does) and reports false when b has no valid package type or no
// well-formed transaction ID.
func (m *Message) DecodeTransaction(b []byte) bool {
	comps := m.Components[:0]
	*m = Message{Components: comps}
	if len(b) == 0 || !PackageType(b[0]).Valid() {
		return false
	}
	m.Type = PackageType(b[0])
	m.salvageTID(b)
	return m.Type == Unidirectional || !m.OrigTID.IsZero() || !m.RespTID.IsZero()
}

// salvageTID recovers the TIDs of a package that failed to decode, so that
// the Abort answering it can be addressed: the first element inside must be
// a well-formed transaction ID. For an unknown package type the TID is
// taken as the sender's own (1-4 octets, or the first half of 2-8).
func (m *Message) salvageTID(b []byte) {
	h := 2
	if len(b) > 1 && b[1]&0x80 != 0 {
		h += int(b[1] & 0x7F)
	}
	if len(b) <= h || b[0]&0x20 == 0 {
		return
	}
	tid, _, err := ber.ParseAt(b[h:], h)
	if err != nil || ident(&tid) != idTID {
		return
	}
	if m.Type.Valid() {
		_ = m.setTIDs(&tid)
		return
	}
	v := tid.Value
	if len(v) > 4 && len(v)%2 == 0 {
		v = v[:len(v)/2]
	}
	m.OrigTID, _ = TIDFromBytes(v)
}

func (m *Message) setTIDs(t *ber.TLV) error {
	n := len(t.Value)
	if t.Constructed {
		return abortErr(IncorrectTransactionPortion, t.Offset, "constructed transaction ID")
	}
	switch {
	case m.Type == Unidirectional:
		if n != 0 {
			return m.badTIDLen(t, "0")
		}
	case m.Type.IsConversation():
		// Originating then responding TID, two equal halves.
		if n < 2 || n > 8 || n%2 != 0 {
			return m.badTIDLen(t, "2-8, even")
		}
		setTID(&m.OrigTID, t.Value[:n/2])
		setTID(&m.RespTID, t.Value[n/2:])
	default:
		if n < 1 || n > 4 {
			return m.badTIDLen(t, "1-4")
		}
		if m.Type.IsQuery() {
			setTID(&m.OrigTID, t.Value)
		} else {
			setTID(&m.RespTID, t.Value)
		}
	}
	return nil
}

// setTID is TIDFromBytes for a length already checked (1-4 octets), stored
// in place rather than handed back through memory and copied.
func setTID(t *TID, v []byte) {
	*t = TID{n: uint8(len(v))}
	copy(t.b[:], v)
}

func (m *Message) badTIDLen(t *ber.TLV, want string) error {
	return abortErr(IncorrectTransactionPortion, t.Offset, "%v transaction ID of %d octets, want %s", m.Type, len(t.Value), want)
}

func errOffset(err error) int {
	if e, ok := err.(*ber.Error); ok {
		return e.Offset
	}
	return 0
}

func berWhat(err error) string {
	if e, ok := err.(*ber.Error); ok {
		return e.What
	}
	return err.Error()
}

func (d *DialoguePortion) decode(e *ber.TLV) error {
	*d = DialoguePortion{Present: true}
	bad := func(off int, format string, args ...any) error {
		return abortErr(BadlyStructuredDialoguePortion, off, "dialogue portion: "+format, args...)
	}
	if !e.Constructed {
		return bad(e.Offset, "primitive encoding")
	}
	it := ber.NewIter(e.Value, e.Offset+e.HeaderLen)
	var c ber.TLV
	for it.NextInto(&c) {
		switch ident(&c) {
		case idVersion:
			if len(c.Value) != 1 || d.HasVersion {
				return bad(c.Offset, "protocol version of %d octets", len(c.Value))
			}
			d.HasVersion, d.Version = true, c.Value[0]
		case idIntAppContext, idOIDAppContext:
			if d.AppContext.Kind != NoContext {
				return bad(c.Offset, "second application context")
			}
			if err := decodeContext(&d.AppContext, c, idIntAppContext); err != nil {
				return bad(c.Offset, "application context: %s", err)
			}
		case idUserInfo:
			d.HasUserInfo, d.UserInfo = true, c.Value
		case idIntSecurity, idOIDSecurity:
			if d.Security.Kind != NoContext {
				return bad(c.Offset, "second security context")
			}
			if err := decodeContext(&d.Security, c, idIntSecurity); err != nil {
				return bad(c.Offset, "security context: %s", err)
			}
		case idConfidential:
			d.HasConfidentiality, d.Confidentiality = true, c.Value
		default:
			// T1.114-2000 allows extensions; skip what we do not know.
		}
	}
	if it.Err() != nil {
		return bad(errOffset(it.Err()), "%s", berWhat(it.Err()))
	}
	return nil
}

func decodeContext(c *ContextID, e ber.TLV, intID byte) error {
	if e.Constructed {
		return fmt.Errorf("constructed encoding")
	}
	if ident(&e) == intID {
		v, ok := ber.Uint(e.Value)
		if !ok {
			return fmt.Errorf("integer of %d octets", len(e.Value))
		}
		c.Kind, c.Int = IntegerContext, v
		return nil
	}
	if len(e.Value) == 0 {
		return fmt.Errorf("empty object identifier")
	}
	c.Kind, c.OID = OIDContext, e.Value
	return nil
}

// decodeComponents walks the component sequence.
func (m *Message) decodeComponents(seq *ber.TLV) error {
	if !seq.Constructed {
		return &Error{Offset: seq.Offset, What: "primitive component sequence", Problem: GeneralBadlyStructuredCompPortion, Component: 0}
	}
	it := ber.NewIter(seq.Value, seq.Offset+seq.HeaderLen)
	var e ber.TLV
	for i := 0; ; i++ {
		if !it.NextInto(&e) {
			if err := it.Err(); err != nil {
				return &Error{Offset: errOffset(err), What: "component sequence: " + berWhat(err),
					Problem: GeneralBadlyStructuredCompPortion, Component: i}
			}
			return nil
		}
		m.Components = append(m.Components, Component{})
		c := &m.Components[len(m.Components)-1]
		if err := c.decode(&e, i); err != nil {
			m.Components = m.Components[:len(m.Components)-1]
			return err
		}
	}
}

// fail builds the Reject for a bad component, carrying the ID read so far
// (the invoke ID of an Invoke, the correlation ID of the others).
func (c *Component) fail(index int, p Problem, off int, format string, args ...any) *Error {
	err := &Error{Offset: off, What: fmt.Sprintf(format, args...), Problem: p, Component: index}
	if c.Type.IsInvoke() && c.HasInvokeID {
		err.ID, err.HasID = c.InvokeID, true
	} else if !c.Type.IsInvoke() && c.HasCorrelationID {
		err.ID, err.HasID = c.CorrelationID, true
	}
	return err
}

// framing is the Reject for broken TLV framing inside the component.
func (c *Component) framing(index int, err error) *Error {
	return c.fail(index, GeneralBadlyStructuredCompPortion, errOffset(err), "%v", berWhat(err))
}

// decode reads one component. c is zero on entry; its elements are read in
// place (see Message.Decode), each followed by a check for broken framing.
func (c *Component) decode(e *ber.TLV, index int) error {
	c.Offset = e.Offset
	typ := ComponentType(ident(e))
	if !typ.valid() || !e.Constructed {
		// Try to recover the component ID so the Reject can name it.
		if e.Constructed {
			var first ber.TLV
			if _, err := ber.ParseInto(e.Value, e.Offset+e.HeaderLen, &first); err == nil && ident(&first) == idComponentIDs && len(first.Value) >= 1 {
				return &Error{Offset: e.Offset, What: fmt.Sprintf("unrecognised component type 0x%02x", ident(e)),
					Problem: GeneralUnrecognisedComponentType, Component: index, ID: first.Value[0], HasID: true}
			}
		}
		return c.fail(index, GeneralUnrecognisedComponentType, e.Offset, "unrecognised component type 0x%02x", ident(e))
	}
	c.Type = typ
	it := ber.NewIter(e.Value, e.Offset+e.HeaderLen)
	var el ber.TLV
	ok := it.NextInto(&el)
	if !ok && it.Err() != nil {
		return c.framing(index, it.Err())
	}
	// Component IDs.
	maxIDs, minIDs := 1, 1
	switch {
	case typ.IsInvoke():
		minIDs, maxIDs = 0, 2
	case typ == Reject:
		minIDs = 0
	}
	if ok && ident(&el) == idComponentIDs {
		n := len(el.Value)
		if n < minIDs || n > maxIDs {
			return c.fail(index, GeneralIncorrectComponentPortion, el.Offset, "%d component ID octets in %v, want %d-%d", n, typ, minIDs, maxIDs)
		}
		if typ.IsInvoke() {
			if n >= 1 {
				c.HasInvokeID, c.InvokeID = true, el.Value[0]
			}
			if n == 2 {
				c.HasCorrelationID, c.CorrelationID = true, el.Value[1]
			}
		} else if n == 1 {
			c.HasCorrelationID, c.CorrelationID = true, el.Value[0]
		}
		if ok = it.NextInto(&el); !ok && it.Err() != nil {
			return c.framing(index, it.Err())
		}
	} else if !typ.IsInvoke() {
		// Mandatory in RR, RE and Reject (ASN.1 has no OPTIONAL there).
		return c.fail(index, GeneralIncorrectComponentPortion, e.Offset, "%v without component ID", typ)
	}
	// Type-specific mandatory element.
	switch {
	case typ.IsInvoke():
		if !ok || (ident(&el) != idNationalOp && ident(&el) != idPrivateOp) {
			return c.fail(index, GeneralIncorrectComponentPortion, elOff(&el, ok, e), "invoke without operation code")
		}
		if len(el.Value) < 1 || len(el.Value) > 2 {
			return c.fail(index, GeneralIncorrectComponentCoding, el.Offset, "operation code of %d octets", len(el.Value))
		}
		c.Op.Class = National
		if ident(&el) == idPrivateOp {
			c.Op.Class = Private
		}
		for _, x := range el.Value {
			c.Op.Code = c.Op.Code<<8 | uint16(x)
		}
		if ok = it.NextInto(&el); !ok && it.Err() != nil {
			return c.framing(index, it.Err())
		}
	case typ == ReturnError:
		if !ok || (ident(&el) != idNationalErr && ident(&el) != idPrivateErr) {
			return c.fail(index, GeneralIncorrectComponentPortion, elOff(&el, ok, e), "return error without error code")
		}
		if len(el.Value) != 1 {
			return c.fail(index, GeneralIncorrectComponentCoding, el.Offset, "error code of %d octets", len(el.Value))
		}
		c.Error.Class = National
		if ident(&el) == idPrivateErr {
			c.Error.Class = Private
		}
		c.Error.Code = el.Value[0]
		if ok = it.NextInto(&el); !ok && it.Err() != nil {
			return c.framing(index, it.Err())
		}
	case typ == Reject:
		if !ok || ident(&el) != idProblem {
			return c.fail(index, GeneralIncorrectComponentPortion, elOff(&el, ok, e), "reject without problem code")
		}
		if len(el.Value) < 1 || len(el.Value) > 2 {
			return c.fail(index, GeneralIncorrectComponentCoding, el.Offset, "problem code of %d octets", len(el.Value))
		}
		for _, x := range el.Value {
			c.Problem = c.Problem<<8 | Problem(x)
		}
		if ok = it.NextInto(&el); !ok && it.Err() != nil {
			return c.framing(index, it.Err())
		}
	}
	// Parameters.
	if ok {
		id := ident(&el)
		good := id == idParamSet || id == idParamSeq || (typ == Reject && id == idRejectParamSq)
		if !good || !el.Constructed {
			p := GeneralIncorrectComponentPortion
			switch {
			case typ.IsInvoke():
				p = InvokeIncorrectParameter
			case typ.IsReturnResult():
				p = ReturnResultIncorrectParameter
			case typ == ReturnError:
				p = ReturnErrorIncorrectParameter
			}
			return c.fail(index, p, el.Offset, "unexpected element 0x%02x where parameters may be", id)
		}
		c.ParamTag, c.Params = ParamTag(id), el.Value
		if it.NextInto(&el) {
			return c.fail(index, GeneralIncorrectComponentPortion, el.Offset, "element 0x%02x after the parameters", ident(&el))
		}
		if it.Err() != nil {
			return c.framing(index, it.Err())
		}
	}
	return nil
}

func elOff(el *ber.TLV, ok bool, parent *ber.TLV) int {
	if ok {
		return el.Offset
	}
	return parent.Offset
}
