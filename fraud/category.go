package fraud

import (
	"fmt"
	"strings"

	"callgate/policy"
)

// Category is a rate table row's kind of destination. The Outgoing Calling
// Plan of a locked group bars two of them:
//
//	category       a locked group's calls   policy.Destination
//	domestic       go through               DestinationDomestic
//	mobile         go through               DestinationDomestic
//	international  are refused              DestinationInternational
//	premium        are refused              DestinationPremium
//
// "mobile" is a domestic mobile range priced apart (a mobile number abroad
// is international: rate it so). The engine bars the stricter of the rate
// table's category and its own NANP reading of the number
// (policy.DestinationOf): a table can add premium ranges, never make a
// foreign number domestic.
type Category uint8

// Categories. Persisted by name in the rate table.
const (
	CategoryDomestic Category = iota + 1
	CategoryMobile
	CategoryInternational
	CategoryPremium
)

var categoryNames = [...]string{"", "domestic", "mobile", "international", "premium"}

// String returns the category's name.
func (c Category) String() string {
	if c > 0 && int(c) < len(categoryNames) {
		return categoryNames[c]
	}
	return fmt.Sprintf("category(%d)", uint8(c))
}

// ParseCategory reads a category name (any case).
func ParseCategory(s string) (Category, error) {
	l := strings.ToLower(strings.TrimSpace(s))
	for i := 1; i < len(categoryNames); i++ {
		if l == categoryNames[i] {
			return Category(i), nil
		}
	}
	return 0, fmt.Errorf("category %q: want domestic, mobile, international or premium", s)
}

// Barred reports whether a locked group's calls to c are refused.
func (c Category) Barred() bool { return c == CategoryInternational || c == CategoryPremium }

// Destination is c as the engine's fraud step sees it.
func (c Category) Destination() policy.Destination {
	switch c {
	case CategoryDomestic, CategoryMobile:
		return policy.DestinationDomestic
	case CategoryInternational:
		return policy.DestinationInternational
	case CategoryPremium:
		return policy.DestinationPremium
	}
	return policy.DestinationUnknown
}
