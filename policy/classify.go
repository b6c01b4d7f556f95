package policy

import "callgate/e164"

// Classifier tells the engine's fraud step what a signal knows about a
// dialled number's toll category (the fraud signal: its rate table's
// category for the number). It must be safe for concurrent use and must
// not allocate: the engine asks it on the call path.
type Classifier interface {
	// Destination returns the number's category, or DestinationUnknown
	// when the classifier has no opinion.
	Destination(n e164.Number) Destination
}

// WithClassifier makes the fraud step ask c as well as its own NANP
// reading (DestinationOf) and bar the stricter of the two answers: a
// classifier can add barred ranges (a premium range a rate table knows,
// outside NXX 976 and NPA 900) but never make a foreign or premium number
// domestic. A number the engine cannot read at all stays unknown (never
// barred), whatever c says.
func WithClassifier(c Classifier) Option {
	return func(e *Engine) { e.classify = c }
}

// destination is the toll category the fraud step applies.
func (e *Engine) destination(n e164.Number) Destination {
	d := DestinationOf(n)
	if d == DestinationUnknown || e.classify == nil {
		return d
	}
	// Domestic < International < Premium: the order is how strictly a
	// locked line is barred, so the stricter answer is the larger.
	return max(d, e.classify.Destination(n))
}
