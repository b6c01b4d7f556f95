package ain

import (
	"callgate/sigtran/ber"
)

// Order keys for parameters that have no context tag of their own, so that
// raw copies of them can still be put back at their declaration position.
const (
	keyUniversal             uint32 = 1 << 24
	keyAMALineNumberList     uint32 = keyUniversal | 1 // SEQUENCE OF AMALineNumber [9] (untagged)
	keyAMADigitsDialedWCList uint32 = keyUniversal | 2 // SEQUENCE OF AMADigitsDialedWC [8] (untagged)
	keyTriggerInformation    uint32 = keyUniversal | 3 // OCTET STRING (untagged)
	keyNone                  uint32 = ^uint32(0)
)

func rawKey(p *RawParam) uint32 {
	switch p.Class {
	case ber.Context:
		return p.Tag
	case ber.Universal:
		switch {
		case p.Tag == 16 && p.Constructed:
			c, _, err := ber.Parse(p.Value)
			if err == nil && c.Class == ber.Context {
				switch c.Tag {
				case TagAMALineNumber:
					return keyAMALineNumberList
				case TagAMADigitsDialedWC:
					return keyAMADigitsDialedWCList
				}
			}
		case p.Tag == 4 && !p.Constructed:
			return keyTriggerInformation
		}
	}
	return keyNone
}

func toRaw(t ber.TLV) RawParam {
	return RawParam{Class: t.Class, Constructed: t.Constructed, Tag: t.Tag, Value: t.Value}
}

// decoder carries what every parameter decoder needs: the argument's name
// for errors and the set of tags seen (a SET may not repeat a parameter).
type decoder struct {
	in   string
	seen [4]uint64 // tags 0..255; AIN tags stop at 167
}

func (d *decoder) fail(t ber.TLV, what string) error {
	return &ParameterError{In: d.in, Tag: t.Tag, Offset: t.Offset, What: what}
}

func (d *decoder) failErr(t ber.TLV, err error) error {
	return &ParameterError{In: d.in, Tag: t.Tag, Offset: t.Offset, What: err.Error(), Err: err}
}

func (d *decoder) framing(err error) error {
	off := 0
	if be, ok := err.(*ber.Error); ok {
		off = be.Offset
	}
	return &ParameterError{In: d.in, Offset: off, What: "broken TLV framing", Err: err}
}

func (d *decoder) missing(tag uint32) error { return &MissingParameterError{In: d.in, Tag: tag} }

func (d *decoder) has(tag uint32) bool {
	return tag < 256 && d.seen[tag>>6]&(1<<(tag&63)) != 0
}

// enter checks form and uniqueness of a modelled parameter.
func (d *decoder) enter(t ber.TLV, constructed bool) error {
	if t.Constructed != constructed {
		if constructed {
			return d.fail(t, "primitive encoding, want constructed")
		}
		return d.fail(t, "constructed encoding, want primitive")
	}
	if t.Tag < 256 {
		bit := uint64(1) << (t.Tag & 63)
		if d.seen[t.Tag>>6]&bit != 0 {
			return d.fail(t, "parameter repeated")
		}
		d.seen[t.Tag>>6] |= bit
	}
	return nil
}

// optDigits decodes an AINDigits parameter into o, which is left unset on
// error. It writes o in place: Digits is too big to be handed back in
// registers, and copying it out of a callee costs more than decoding it.
func (d *decoder) optDigits(t ber.TLV, o *Opt[Digits]) error {
	if err := d.enter(t, false); err != nil {
		*o = Opt[Digits]{}
		return err
	}
	if bad := o.V.decode(t.Value); bad != "" {
		*o = Opt[Digits]{}
		return d.fail(t, bad)
	}
	o.Set = true
	return nil
}

func (d *decoder) uint(t ber.TLV, max uint64) (uint64, error) {
	if err := d.enter(t, false); err != nil {
		return 0, err
	}
	v, ok := ber.Uint(t.Value)
	if !ok {
		if len(t.Value) == 0 {
			return 0, d.fail(t, "empty INTEGER")
		}
		return 0, d.fail(t, "INTEGER too long")
	}
	if v > max {
		return 0, d.fail(t, "value out of range")
	}
	return v, nil
}

// enum8 decodes an ENUMERATED or small INTEGER. Values the ASN.1 does not
// list are kept (the String methods show them as unknown(n)); only values
// that do not fit the Go type are an error.
func enum8[E ~uint8](d *decoder, t ber.TLV) (E, error) {
	v, err := d.uint(t, 255)
	return E(v), err
}

func optEnum8[E ~uint8](d *decoder, t ber.TLV) (Opt[E], error) {
	v, err := enum8[E](d, t)
	return Opt[E]{V: v, Set: err == nil}, err
}

func (d *decoder) octets(t ber.TLV) ([]byte, error) {
	if err := d.enter(t, false); err != nil {
		return nil, err
	}
	return t.Value, nil
}

func (d *decoder) fixed(t ber.TLV, n int) ([]byte, error) {
	v, err := d.octets(t)
	if err == nil && len(v) != n {
		return nil, d.fail(t, "wrong length")
	}
	return v, err
}

func (d *decoder) optOctet(t ber.TLV) (Opt[uint8], error) {
	v, err := d.fixed(t, 1)
	if err != nil {
		return Opt[uint8]{}, err
	}
	return Some(v[0]), nil
}

func (d *decoder) optUint16(t ber.TLV) (Opt[uint16], error) {
	v, err := d.fixed(t, 2)
	if err != nil {
		return Opt[uint16]{}, err
	}
	return Some(uint16(v[0])<<8 | uint16(v[1])), nil
}

func (d *decoder) constructed(t ber.TLV) ([]byte, error) {
	if err := d.enter(t, true); err != nil {
		return nil, err
	}
	return t.Value, nil
}

func (d *decoder) null(t ber.TLV) (bool, error) {
	if err := d.enter(t, false); err != nil {
		return false, err
	}
	if len(t.Value) != 0 {
		return false, d.fail(t, "NULL with contents")
	}
	return true, nil
}

func (d *decoder) boolean(t ber.TLV) (Opt[bool], error) {
	v, err := d.fixed(t, 1)
	if err != nil {
		return Opt[bool]{}, err
	}
	return Some(v[0] != 0), nil
}

func (d *decoder) amaslpID(t ber.TLV) (AMAslpID, error) {
	var a AMAslpID
	v, err := d.fixed(t, len(a))
	copy(a[:], v)
	return a, err
}

func (d *decoder) optAMAslpID(t ber.TLV) (Opt[AMAslpID], error) {
	v, err := d.amaslpID(t)
	return Opt[AMAslpID]{V: v, Set: err == nil}, err
}

func (d *decoder) genericName(t ber.TLV) (Opt[GenericName], error) {
	v, err := d.octets(t)
	if err != nil {
		return Opt[GenericName]{}, err
	}
	g, bad := parseGenericName(v)
	if bad != "" {
		return Opt[GenericName]{}, d.fail(t, bad)
	}
	return Some(g), nil
}

// only stores in c the single element inside an explicit CHOICE wrapper.
func (d *decoder) only(t ber.TLV, c *ber.TLV) error {
	if len(t.Value) == 0 {
		return d.fail(t, "empty CHOICE")
	}
	rest, err := ber.ParseInto(t.Value, t.Offset+t.HeaderLen, c)
	if err != nil {
		return d.failErr(t, err)
	}
	if len(rest) != 0 {
		return d.fail(t, "more than one element in CHOICE")
	}
	return nil
}

// userID decodes a UserID parameter into u (zeroed on error), in place for
// the same reason as optDigits.
func (d *decoder) userID(t ber.TLV, u *UserID) error {
	*u = UserID{}
	if err := d.enter(t, true); err != nil {
		return err
	}
	var c ber.TLV
	if err := d.only(t, &c); err != nil {
		return err
	}
	switch {
	case c.Is(ber.Context, false, 1):
		if len(c.Value) != len(u.DN) {
			return d.fail(t, "dn is not 5 octets")
		}
		u.Kind = UserIDDN
		copy(u.DN[:], c.Value)
	case c.Is(ber.Context, true, 2):
		u.Kind, u.Raw = UserIDBRI, c.Value
	case c.Is(ber.Context, false, 5), c.Is(ber.Context, false, 6):
		v, ok := ber.Uint(c.Value)
		if !ok || v > 9999 {
			return d.fail(t, "trunk/facility group ID not an INTEGER 0..9999")
		}
		u.Kind, u.Group = UserIDTrunkGroup, uint16(v)
		if c.Tag == 6 {
			u.Kind = UserIDPrivateFacilityGID
		}
	case c.Is(ber.Universal, false, 4):
		if len(c.Value) != len(u.ADSI) {
			return d.fail(t, "aDSIcpeID is not 4 octets")
		}
		u.Kind = UserIDADSIcpeID
		copy(u.ADSI[:], c.Value)
	default:
		return d.fail(t, "unknown userID alternative")
	}
	return nil
}

// optUserID is userID for an optional parameter (unset on error).
func (d *decoder) optUserID(t ber.TLV, o *Opt[UserID]) error {
	err := d.userID(t, &o.V)
	o.Set = err == nil
	return err
}

func (d *decoder) announcements(t, list ber.TLV, l *AnnouncementList) error {
	it := list.Children()
	for e, ok := it.Next(); ok; e, ok = it.Next() {
		if !e.Is(ber.Universal, false, 4) {
			return d.fail(t, "announcement element is not an OCTET STRING")
		}
		if l.Add(e.Value) != nil {
			return d.fail(t, "more than 10 announcement elements")
		}
	}
	if err := it.Err(); err != nil {
		return d.failErr(t, err)
	}
	return nil
}

func (d *decoder) strBlock(t ber.TLV) (StrParameterBlock, error) {
	var s StrParameterBlock
	if err := d.enter(t, true); err != nil {
		return s, err
	}
	var c ber.TLV
	err := d.only(t, &c)
	if err != nil {
		return s, err
	}
	switch {
	case c.Is(ber.Context, true, 0), c.Is(ber.Context, true, 1):
		s.Kind = StrAnnouncementBlock
		digitBlock := c.Tag == 1
		if digitBlock {
			s.Kind = StrAnnouncementDigitBlock
		}
		haveMax := false
		it := c.Children()
		for e, ok := it.Next(); ok; e, ok = it.Next() {
			switch {
			case digitBlock && e.Is(ber.Context, false, 0):
				v, ok := ber.Uint(e.Value)
				if !ok || v > 255 {
					return s, d.fail(t, "maximumDigits not an INTEGER 0..255")
				}
				s.MaximumDigits, haveMax = uint8(v), true
			case e.Is(ber.Context, true, 1):
				err = d.announcements(t, e, &s.Uninterruptible)
			case e.Is(ber.Context, true, 2):
				err = d.announcements(t, e, &s.Interruptible)
			default:
				return s, d.fail(t, "unknown element in announcement block")
			}
			if err != nil {
				return s, err
			}
		}
		if err := it.Err(); err != nil {
			return s, d.failErr(t, err)
		}
		if digitBlock && !haveMax {
			return s, d.fail(t, "announcementDigitBlock without maximumDigits")
		}
	case c.Is(ber.Context, false, 2):
		s.Kind, s.Flex = StrFlexParameterBlock, c.Value
	default:
		return s, d.fail(t, "unknown strParameterBlock alternative")
	}
	return s, nil
}

func (d *decoder) displayText(t ber.TLV) (Opt[DisplayText], error) {
	var o Opt[DisplayText]
	if err := d.enter(t, true); err != nil {
		return o, err
	}
	it := t.Children()
	for e, ok := it.Next(); ok; e, ok = it.Next() {
		if e.Class != ber.Context || e.Constructed || e.Tag > 255 {
			return o, d.fail(t, "displayText item is not a DisplayInformation")
		}
		if err := o.V.Add(uint8(e.Tag), e.Value); err != nil {
			return o, d.failErr(t, err)
		}
	}
	if err := it.Err(); err != nil {
		return o, d.failErr(t, err)
	}
	o.Set = true
	return o, nil
}

func (d *decoder) gapInterval(t ber.TLV) (GapInterval, error) {
	v, err := d.uint(t, 255)
	return GapInterval{Private: t.Tag == TagPrivateGapInterval, Value: uint8(v)}, err
}

// encoder appends parameters to a caller's buffer. (It holds nothing else:
// a pointer into the argument here would make every argument escape to the
// heap.)
type encoder struct {
	b []byte
}

func (e *encoder) hdr(tag uint32, constructed bool, n int) {
	e.b = ber.AppendHeader(e.b, ber.Context, constructed, tag, n)
}

// digits writes d from where it is (a Digits is 21 octets: not copied).
func (e *encoder) digits(tag uint32, d *Digits) {
	e.hdr(tag, false, d.contentLen())
	e.b = d.appendContent(e.b)
}

func (e *encoder) optDigits(tag uint32, o *Opt[Digits]) {
	if o.Set {
		e.digits(tag, &o.V)
	}
}

func (e *encoder) uint(tag uint32, v uint64) {
	e.hdr(tag, false, ber.UintLen(v))
	e.b = ber.AppendUint(e.b, v)
}

func encEnum[E ~uint8](e *encoder, tag uint32, o Opt[E]) {
	if o.Set {
		e.uint(tag, uint64(o.V))
	}
}

func (e *encoder) octets(tag uint32, v []byte) {
	if v != nil {
		e.hdr(tag, false, len(v))
		e.b = append(e.b, v...)
	}
}

func (e *encoder) constructed(tag uint32, v []byte) {
	if v != nil {
		e.hdr(tag, true, len(v))
		e.b = append(e.b, v...)
	}
}

func (e *encoder) optOctet(tag uint32, o Opt[uint8]) {
	if o.Set {
		e.hdr(tag, false, 1)
		e.b = append(e.b, o.V)
	}
}

func (e *encoder) optUint16(tag uint32, o Opt[uint16]) {
	if o.Set {
		e.hdr(tag, false, 2)
		e.b = append(e.b, byte(o.V>>8), byte(o.V))
	}
}

func (e *encoder) null(tag uint32, present bool) {
	if present {
		e.hdr(tag, false, 0)
	}
}

func (e *encoder) boolean(tag uint32, o Opt[bool]) {
	if o.Set {
		e.hdr(tag, false, 1)
		v := byte(0)
		if o.V {
			v = 0xFF
		}
		e.b = append(e.b, v)
	}
}

func (e *encoder) amaslpID(a *AMAslpID) {
	e.hdr(TagAMAslpID, false, len(a))
	e.b = append(e.b, a[:]...)
}

func (e *encoder) optAMAslpID(o *Opt[AMAslpID]) {
	if o.Set {
		e.amaslpID(&o.V)
	}
}

func (e *encoder) genericName(o *Opt[GenericName]) {
	if o.Set {
		e.hdr(TagGenericName, false, 1+len(o.V.Name))
		e.b = append(e.b, o.V.firstOctet())
		e.b = append(e.b, o.V.Name...)
	}
}

func userIDInner(u *UserID) (id byte, n int) {
	switch u.Kind {
	case UserIDDN:
		return 0x81, len(u.DN)
	case UserIDBRI:
		return 0xA2, len(u.Raw)
	case UserIDTrunkGroup:
		return 0x85, ber.UintLen(uint64(u.Group))
	case UserIDPrivateFacilityGID:
		return 0x86, ber.UintLen(uint64(u.Group))
	case UserIDADSIcpeID:
		return 0x04, len(u.ADSI)
	}
	return 0, 0
}

// userID writes nothing for a UserID of kind UserIDNone.
func (e *encoder) userID(u *UserID) {
	id, n := userIDInner(u)
	if id == 0 {
		return
	}
	tag := uint32(id & 0x1F)
	e.hdr(TagUserID, true, ber.ElementLen(tag, n))
	e.b = ber.AppendHeader(e.b, ber.Class(id&0xC0), id&0x20 != 0, tag, n)
	switch u.Kind {
	case UserIDDN:
		e.b = append(e.b, u.DN[:]...)
	case UserIDBRI:
		e.b = append(e.b, u.Raw...)
	case UserIDTrunkGroup, UserIDPrivateFacilityGID:
		e.b = ber.AppendUint(e.b, uint64(u.Group))
	case UserIDADSIcpeID:
		e.b = append(e.b, u.ADSI[:]...)
	}
}

func (e *encoder) optUserID(o *Opt[UserID]) {
	if o.Set {
		e.userID(&o.V)
	}
}

func announcementsLen(l *AnnouncementList) int {
	n := 0
	for i := 0; i < l.n; i++ {
		n += ber.ElementLen(4, len(l.e[i]))
	}
	return n
}

func (e *encoder) announcements(tag uint32, l *AnnouncementList) {
	if l.n == 0 {
		return
	}
	e.hdr(tag, true, announcementsLen(l))
	for i := 0; i < l.n; i++ {
		e.b = ber.AppendTLV(e.b, ber.Universal, false, 4, l.e[i])
	}
}

func strInnerLen(s *StrParameterBlock) int {
	n := 0
	if s.Kind == StrAnnouncementDigitBlock {
		n += ber.ElementLen(0, ber.UintLen(uint64(s.MaximumDigits)))
	}
	if k := announcementsLen(&s.Uninterruptible); s.Uninterruptible.n > 0 {
		n += ber.ElementLen(1, k)
	}
	if k := announcementsLen(&s.Interruptible); s.Interruptible.n > 0 {
		n += ber.ElementLen(2, k)
	}
	return n
}

// str writes nothing for a block of kind StrNone.
func (e *encoder) str(s *StrParameterBlock) {
	switch s.Kind {
	case StrAnnouncementBlock, StrAnnouncementDigitBlock:
		inner := strInnerLen(s)
		alt := uint32(0)
		if s.Kind == StrAnnouncementDigitBlock {
			alt = 1
		}
		e.hdr(TagStrParameterBlock, true, ber.ElementLen(alt, inner))
		e.hdr(alt, true, inner)
		if s.Kind == StrAnnouncementDigitBlock {
			e.uint(0, uint64(s.MaximumDigits))
		}
		e.announcements(1, &s.Uninterruptible)
		e.announcements(2, &s.Interruptible)
	case StrFlexParameterBlock:
		e.hdr(TagStrParameterBlock, true, ber.ElementLen(2, len(s.Flex)))
		e.hdr(2, false, len(s.Flex))
		e.b = append(e.b, s.Flex...)
	}
}

func (e *encoder) displayText(o *Opt[DisplayText]) {
	if !o.Set {
		return
	}
	t := &o.V
	n := 0
	for i := 0; i < t.n; i++ {
		n += ber.ElementLen(uint32(t.e[i].Tag), len(t.e[i].Value))
	}
	e.hdr(TagDisplayText, true, n)
	for i := 0; i < t.n; i++ {
		e.b = ber.AppendTLV(e.b, ber.Context, false, uint32(t.e[i].Tag), t.e[i].Value)
	}
}

func (e *encoder) appendRaw(p *RawParam) {
	e.b = ber.AppendTLV(e.b, p.Class, p.Constructed, p.Tag, p.Value)
}

// raw writes the kept raw parameters whose declaration position is key.
// It is called for every unmodelled position of an argument, so the common
// case (nothing kept) must stay an inlined length check.
func (e *encoder) raw(other *RawParams, key uint32) {
	if other.n != 0 {
		e.rawAt(other, key)
	}
}

func (e *encoder) rawAt(other *RawParams, key uint32) {
	for i := 0; i < other.n; i++ {
		if p := &other.p[i]; rawKey(p) == key {
			e.appendRaw(p)
		}
	}
}

// rest writes, after the declared parameters, the raw ones the argument
// does not declare (in the order received).
func (e *encoder) rest(other *RawParams, order []uint32) {
outer:
	for i := 0; i < other.n; i++ {
		p := &other.p[i]
		k := rawKey(p)
		for _, o := range order {
			if o == k {
				continue outer
			}
		}
		e.appendRaw(p)
	}
}
