package store

import (
	"encoding/json"
	"fmt"

	"callgate/e164"
)

// routeJSON is a Route as stored. A route without a routing number used to
// be stored with "RoutingNumber": "", which e164 cannot parse, so such a
// store failed to open again; now the field is left out, and "" still
// reads as none.
type routeJSON struct {
	Name          string
	RoutingNumber string `json:",omitempty"`
	SIPURI        string
}

// MarshalJSON implements json.Marshaler.
func (r Route) MarshalJSON() ([]byte, error) {
	j := routeJSON{Name: r.Name, SIPURI: r.SIPURI}
	if r.RoutingNumber != 0 {
		j.RoutingNumber = r.RoutingNumber.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *Route) UnmarshalJSON(b []byte) error {
	var j routeJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Route{Name: j.Name, SIPURI: j.SIPURI}
	if j.RoutingNumber != "" {
		n, err := e164.Parse(j.RoutingNumber)
		if err != nil {
			return fmt.Errorf("route %s: routing number: %w", j.Name, err)
		}
		r.RoutingNumber = n
	}
	return nil
}
