// Package ain encodes and decodes the AIN 0.2 (GR-1299-CORE) operation
// arguments that travel in ANSI TCAP Invoke components, and the parameters of
// the AIN application errors.
//
// The package works on the private operation code (for example 0x6405
// terminationAttempt) and the raw contents of the component's Parameter Set
// (the octets inside the F2 / 30 identifier). TCAP framing, transaction and
// component IDs belong to sigtran/tcap.
//
// The definitions follow Wireshark's AIN-Operations.asn, AIN-Parameters.asn
// and AIN-Errors.asn (written from GR-1299-CORE): every parameter carries its
// own context-specific tag, unique across the module, so an argument is a
// flat set of tagged parameters. Encoders write them in ASN.1 declaration
// order with shortest definite lengths (what tshark and strict peers expect);
// decoders accept them in any order (a TCAP Parameter Set gives no order
// guarantee), skip parameters they do not model into a raw list so that a
// decode followed by an encode reproduces the input, and report missing or
// malformed parameters with errors that match ErrIncorrectParameter (TCAP
// Reject problem 2/3, "incorrect parameter").
//
// Decoding does not allocate: numbers are fixed-size values (Digits) and octet
// strings alias the input, so a decoded argument is valid only as long as the
// parameter bytes it came from are not reused.
package ain
