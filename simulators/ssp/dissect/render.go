package dissect

import (
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"

	"callgate/sigtran/m3ua"
	"callgate/sigtran/sccp"
)

// fieldsOf lists the fields of a non-DATA M3UA message for display: every
// exported field, skipping optional ones that are absent (HasX false, zero
// Unknown counts), with byte slices in hex and point codes in n-c-m form.
func fieldsOf(msg m3ua.Message) []Field {
	v := reflect.ValueOf(msg)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	t := v.Type()
	var out []Field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || strings.HasPrefix(f.Name, "Has") {
			continue
		}
		if h := v.FieldByName("Has" + f.Name); h.IsValid() && h.Kind() == reflect.Bool && !h.Bool() {
			continue
		}
		fv := v.Field(i)
		if fv.IsZero() && (f.Name == "Unknown" || fv.Kind() == reflect.Slice || fv.Kind() == reflect.String) {
			continue
		}
		out = append(out, Field{Name: f.Name, Value: valueText(f.Name, fv)})
	}
	return out
}

func valueText(name string, v reflect.Value) string {
	if s, ok := v.Interface().(fmt.Stringer); ok && v.Kind() != reflect.Slice {
		return s.String()
	}
	switch x := v.Interface().(type) {
	case []byte:
		return hex.EncodeToString(x)
	case []m3ua.AffectedPC:
		parts := make([]string, len(x))
		for i, a := range x {
			parts[i] = fmt.Sprintf("%s/mask %d", sccp.PointCode(a.PC).Format(sccp.ANSI), a.Mask)
		}
		return strings.Join(parts, ", ")
	case uint32:
		if strings.Contains(name, "Destination") || strings.HasSuffix(name, "PC") {
			return sccp.PointCode(x).Format(sccp.ANSI)
		}
	}
	return fmt.Sprintf("%v", v.Interface())
}

// Text renders the message as indented text, one layer a block.
func (m *Message) Text() string {
	var b strings.Builder
	b.WriteString("== ")
	b.WriteString(m.Source)
	if m.Transport != "" {
		fmt.Fprintf(&b, "  %s %s -> %s", m.Transport, m.Src, m.Dst)
		if m.Stream != nil {
			fmt.Fprintf(&b, " stream %d", *m.Stream)
		}
	}
	if !m.Time.IsZero() {
		fmt.Fprintf(&b, "  %s", m.Time.UTC().Format("2006-01-02T15:04:05.000000Z"))
	}
	fmt.Fprintf(&b, "  (%d octets)\n", m.Length)
	if l := m.M3UA; l != nil {
		fmt.Fprintf(&b, "M3UA  %s (class %s, type %d), length %d\n", l.Name, l.Class, l.Type, l.Length)
		if l.RoutingContext != nil {
			fmt.Fprintf(&b, "      routing context %d\n", *l.RoutingContext)
		}
		if l.NetworkAppearance != nil {
			fmt.Fprintf(&b, "      network appearance %d\n", *l.NetworkAppearance)
		}
		if l.SI != nil {
			fmt.Fprintf(&b, "      OPC %s  DPC %s  SI %d  NI %d  MP %d  SLS %d\n", l.OPC, l.DPC, *l.SI, *l.NI, *l.MP, *l.SLS)
		}
		if l.CorrelationID != nil {
			fmt.Fprintf(&b, "      correlation id %d\n", *l.CorrelationID)
		}
		for _, f := range l.Fields {
			fmt.Fprintf(&b, "      %s: %s\n", f.Name, f.Value)
		}
	}
	if l := m.SCCP; l != nil {
		fmt.Fprintf(&b, "SCCP  %s %s", l.Variant, l.Type)
		if l.ProtocolClass != nil {
			fmt.Fprintf(&b, ", class %d", *l.ProtocolClass)
			if *l.ReturnOnError {
				b.WriteString(", return on error")
			}
		}
		if l.ReturnCause != "" {
			fmt.Fprintf(&b, ", return cause: %s", l.ReturnCause)
		}
		if l.HopCounter != nil {
			fmt.Fprintf(&b, ", hop counter %d", *l.HopCounter)
		}
		fmt.Fprintf(&b, "\n      called:  %s\n      calling: %s\n", l.Called.Text, l.Calling.Text)
	}
	if l := m.TCAP; l != nil {
		fmt.Fprintf(&b, "TCAP  %s", l.Package)
		if l.OrigTID != "" {
			fmt.Fprintf(&b, "  otid %s", l.OrigTID)
		}
		if l.RespTID != "" {
			fmt.Fprintf(&b, "  rtid %s", l.RespTID)
		}
		b.WriteByte('\n')
		if d := l.Dialogue; d != nil {
			b.WriteString("      dialogue portion")
			if d.Version != nil {
				fmt.Fprintf(&b, " version %d", *d.Version)
			}
			if d.AppContext != "" {
				fmt.Fprintf(&b, " application context %s", d.AppContext)
			}
			b.WriteByte('\n')
		}
		if l.AbortCause != "" {
			fmt.Fprintf(&b, "      P-Abort cause: %s (%d)\n", l.AbortCause, l.AbortCauseCode)
		}
		if l.UserAbort != "" {
			fmt.Fprintf(&b, "      user abort information: %s\n", l.UserAbort)
		}
		for i := range l.Components {
			c := &l.Components[i]
			fmt.Fprintf(&b, "      %s\n", c.Summary())
			if c.Type.IsInvoke() && c.OpClass == "private" {
				fmt.Fprintf(&b, "AIN     %s\n", c.Operation)
			}
			for _, f := range c.Params {
				fmt.Fprintf(&b, "          %s: %s\n", f.Name, f.Value)
			}
			if c.DecodeError != "" {
				fmt.Fprintf(&b, "          error: %s\n", c.DecodeError)
			}
		}
	}
	for _, e := range m.Errors {
		fmt.Fprintf(&b, "ERROR %s\n", e)
	}
	return b.String()
}
