package scp

import (
	"callgate/scp/ain"
	"callgate/store"
)

// Branding: a delivered call whose enterprise call key matched carries the
// enterprise's brand (policy.Decision.Brand). On AIN the authorizeTermination
// shows it to the called party two ways, for switches that honour either:
//
//	genericName  {typeOfName calling, presentation allowed, the brand
//	             name, at most 15 octets (GR-1188's name length)}
//	displayText  {callingPartyName: the brand name, reason: the call
//	             reason when set; at most 20 octets each (DisplayInformation)}
//
// Longer texts are cut; characters outside printable ASCII are shown as
// '?' (switches render IA5).
const (
	maxGenericName = 15
	maxDisplayItem = 20
	displayReason  = 12 // DisplayInformation reason [12]
	displayName    = 13 // DisplayInformation callingPartyName [13]
)

// brandedAuthorize is authorizeTermination carrying b. buf holds the
// texts (the argument points into it), so nothing is allocated.
func brandedAuthorize(a *ain.AuthorizeTerminationArg, b *store.Brand, buf *[2 * maxDisplayItem]byte) {
	name := ia5(buf[:0], b.Name, maxDisplayItem)
	if len(name) > 0 {
		gn := name
		if len(gn) > maxGenericName {
			gn = gn[:maxGenericName]
		}
		a.GenericName = ain.Some(ain.GenericName{TypeOfName: ain.NameTypeCalling, Presentation: ain.NamePresentationAllowed, Name: gn})
		a.DisplayText.V.Add(displayName, name)
		a.DisplayText.Set = true
	}
	if reason := ia5(buf[maxDisplayItem:maxDisplayItem], b.Reason, maxDisplayItem); len(reason) > 0 {
		a.DisplayText.V.Add(displayReason, reason)
		a.DisplayText.Set = true
	}
}

// ia5 appends s to dst as printable ASCII, at most max octets.
func ia5(dst []byte, s string, max int) []byte {
	for i := 0; i < len(s) && len(dst) < max; i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		dst = append(dst, c)
	}
	return dst
}
