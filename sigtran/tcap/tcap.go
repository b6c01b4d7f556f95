// Package tcap encodes and decodes ANSI TCAP (T1.114) messages and keeps
// the transaction (dialogue) state an SCP needs to answer them.
//
// Every TCAP identifier is PRIVATE class; a message is one package (Query,
// Response, Conversation, Unidirectional, Abort) holding a transaction ID, an
// optional dialogue portion and a component sequence. Component parameters
// are kept as raw bytes: the application layer (AIN) decodes them.
//
// Decoding aliases the input: parameters, user information and OIDs point
// into the buffer given to Decode. Reusing a Message keeps its component
// slice, so a steady-state decoder does not allocate. Encoding appends to a
// caller-supplied buffer with shortest definite lengths.
package tcap

import (
	"encoding/hex"
	"fmt"
)

// Identifier octets (class PRIVATE; 0x20 = constructed). T1.114.3.
const (
	idTID           = 0xC7 // [PRIVATE 7] Transaction ID
	idComponentSeq  = 0xE8 // [PRIVATE 8] Component Sequence
	idComponentIDs  = 0xCF // [PRIVATE 15]
	idNationalOp    = 0xD0 // [PRIVATE 16]
	idPrivateOp     = 0xD1 // [PRIVATE 17]
	idParamSet      = 0xF2 // [PRIVATE 18] Parameter Set
	idParamSeq      = 0x30 // UNIVERSAL 16 SEQUENCE: Parameter Sequence
	idRejectParamSq = 0xF0 // [PRIVATE 16] constructed: Wireshark's Reject paramSequence
	idNationalErr   = 0xD3 // [PRIVATE 19]
	idPrivateErr    = 0xD4 // [PRIVATE 20]
	idProblem       = 0xD5 // [PRIVATE 21]
	idPAbortCause   = 0xD7 // [PRIVATE 23]
	idUserAbort     = 0xF8 // [PRIVATE 24] EXTERNAL
	idDialogue      = 0xF9 // [PRIVATE 25]
	idVersion       = 0xDA // [PRIVATE 26]
	idIntAppContext = 0xDB // [PRIVATE 27]
	idOIDAppContext = 0xDC // [PRIVATE 28]
	idUserInfo      = 0xFD // [PRIVATE 29] SEQUENCE OF EXTERNAL
	idIntSecurity   = 0x80 // [0] IMPLICIT INTEGER
	idOIDSecurity   = 0x81 // [1] IMPLICIT OBJECT IDENTIFIER
	idConfidential  = 0xA2 // [2] IMPLICIT SEQUENCE
)

// PackageType is the package identifier octet.
type PackageType uint8

// Package types (T1.114.3 Table 6).
const (
	Unidirectional          PackageType = 0xE1 // [PRIVATE 1]
	QueryWithPermission     PackageType = 0xE2 // [PRIVATE 2]
	QueryWithoutPermission  PackageType = 0xE3 // [PRIVATE 3]
	Response                PackageType = 0xE4 // [PRIVATE 4]
	ConversationWithPerm    PackageType = 0xE5 // [PRIVATE 5]
	ConversationWithoutPerm PackageType = 0xE6 // [PRIVATE 6]
	Abort                   PackageType = 0xF6 // [PRIVATE 22]
)

func (p PackageType) String() string {
	switch p {
	case Unidirectional:
		return "unidirectional"
	case QueryWithPermission:
		return "queryWithPerm"
	case QueryWithoutPermission:
		return "queryWithoutPerm"
	case Response:
		return "response"
	case ConversationWithPerm:
		return "conversationWithPerm"
	case ConversationWithoutPerm:
		return "conversationWithoutPerm"
	case Abort:
		return "abort"
	}
	return fmt.Sprintf("package(0x%02x)", uint8(p))
}

// Valid reports whether p is one of the seven package types.
func (p PackageType) Valid() bool {
	switch p {
	case Unidirectional, QueryWithPermission, QueryWithoutPermission, Response,
		ConversationWithPerm, ConversationWithoutPerm, Abort:
		return true
	}
	return false
}

// IsQuery reports E2/E3: the sender opens a transaction.
func (p PackageType) IsQuery() bool { return p == QueryWithPermission || p == QueryWithoutPermission }

// IsConversation reports E5/E6.
func (p PackageType) IsConversation() bool {
	return p == ConversationWithPerm || p == ConversationWithoutPerm
}

// GrantsPermission reports whether the sender gives the receiver permission
// to end the transaction (E2, E5).
func (p PackageType) GrantsPermission() bool {
	return p == QueryWithPermission || p == ConversationWithPerm
}

// hasOrig/hasResp say which TIDs the package carries.
func (p PackageType) hasOrig() bool { return p.IsQuery() || p.IsConversation() }
func (p PackageType) hasResp() bool { return p == Response || p == Abort || p.IsConversation() }

// TID is one transaction ID of 1-4 octets (T1.114 fixes 4; shorter ones
// occur in the field and are accepted and echoed as received).
type TID struct {
	n uint8
	b [4]byte
}

// NewTID returns the 4-octet TID for v (what we allocate and send).
func NewTID(v uint32) TID {
	return TID{n: 4, b: [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}}
}

// TIDFromBytes copies b (1-4 octets) into a TID.
func TIDFromBytes(b []byte) (TID, bool) {
	var t TID
	if len(b) == 0 || len(b) > 4 {
		return t, false
	}
	t.n = uint8(copy(t.b[:], b))
	return t, true
}

// Len is the number of octets (0 for "no TID").
func (t TID) Len() int { return int(t.n) }

// IsZero reports the absence of a TID.
func (t TID) IsZero() bool { return t.n == 0 }

// Uint32 returns the TID octets as a big-endian number.
func (t TID) Uint32() uint32 {
	var v uint32
	for i := 0; i < int(t.n); i++ {
		v = v<<8 | uint32(t.b[i])
	}
	return v
}

// Append appends the TID octets.
func (t TID) Append(dst []byte) []byte { return append(dst, t.b[:t.n]...) }

// String is the hex form ("00000101").
func (t TID) String() string { return hex.EncodeToString(t.b[:t.n]) }

// ComponentType is the component identifier octet.
type ComponentType uint8

// Component types (T1.114.3 Table 11).
const (
	InvokeLast          ComponentType = 0xE9 // [PRIVATE 9]
	ReturnResultLast    ComponentType = 0xEA // [PRIVATE 10]
	ReturnError         ComponentType = 0xEB // [PRIVATE 11]
	Reject              ComponentType = 0xEC // [PRIVATE 12]
	InvokeNotLast       ComponentType = 0xED // [PRIVATE 13]
	ReturnResultNotLast ComponentType = 0xEE // [PRIVATE 14]
)

func (c ComponentType) String() string {
	switch c {
	case InvokeLast:
		return "invokeLast"
	case ReturnResultLast:
		return "returnResultLast"
	case ReturnError:
		return "returnError"
	case Reject:
		return "reject"
	case InvokeNotLast:
		return "invokeNotLast"
	case ReturnResultNotLast:
		return "returnResultNotLast"
	}
	return fmt.Sprintf("component(0x%02x)", uint8(c))
}

// IsInvoke reports Invoke Last or Not Last.
func (c ComponentType) IsInvoke() bool { return c == InvokeLast || c == InvokeNotLast }

// IsReturnResult reports Return Result Last or Not Last.
func (c ComponentType) IsReturnResult() bool {
	return c == ReturnResultLast || c == ReturnResultNotLast
}

func (c ComponentType) valid() bool { return c >= InvokeLast && c <= ReturnResultNotLast }

// CodeClass says whether an operation or error code is national or private.
type CodeClass uint8

// Code classes.
const (
	National CodeClass = iota // [PRIVATE 16] op / [PRIVATE 19] error
	Private                   // [PRIVATE 17] op / [PRIVATE 20] error (AIN)
)

func (c CodeClass) String() string {
	if c == Private {
		return "private"
	}
	return "national"
}

// Operation is an operation code: family octet (bit 8 = reply required) and
// specifier octet.
type Operation struct {
	Class CodeClass
	Code  uint16 // family<<8 | specifier
}

// PrivateOp and NationalOp build operation codes.
func PrivateOp(code uint16) Operation  { return Operation{Private, code} }
func NationalOp(code uint16) Operation { return Operation{National, code} }

// Family returns the operation family (without the reply-required bit).
func (o Operation) Family() uint8 { return uint8(o.Code>>8) & 0x7F }

// Specifier returns the operation specifier.
func (o Operation) Specifier() uint8 { return uint8(o.Code) }

// ReplyRequired reports the H bit of the family octet.
func (o Operation) ReplyRequired() bool { return o.Code&0x8000 != 0 }

func (o Operation) String() string { return fmt.Sprintf("%v 0x%04x", o.Class, o.Code) }

// ErrorCode is a Return Error's error code.
type ErrorCode struct {
	Class CodeClass
	Code  uint8
}

func (e ErrorCode) String() string { return fmt.Sprintf("%v error %d", e.Class, e.Code) }

// PAbortCause is the transaction sublayer's abort cause (T1.114.3).
type PAbortCause uint8

// P-Abort causes.
const (
	UnrecognizedPackageType           PAbortCause = 1
	IncorrectTransactionPortion       PAbortCause = 2
	BadlyStructuredTransactionPortion PAbortCause = 3
	UnassignedRespondingTID           PAbortCause = 4
	PermissionToReleaseProblem        PAbortCause = 5
	ResourceUnavailable               PAbortCause = 6
	UnrecognizedDialoguePortionID     PAbortCause = 7
	BadlyStructuredDialoguePortion    PAbortCause = 8
	MissingDialoguePortion            PAbortCause = 9
	InconsistentDialoguePortion       PAbortCause = 10
)

var abortNames = [...]string{"", "unrecognizedPackageType", "incorrectTransactionPortion",
	"badlyStructuredTransactionPortion", "unassignedRespondingTransactionID",
	"permissionToReleaseProblem", "resourceUnavailable", "unrecognizedDialoguePortionID",
	"badlyStructuredDialoguePortion", "missingDialoguePortion", "inconsistentDialoguePortion"}

func (c PAbortCause) String() string {
	if c > 0 && int(c) < len(abortNames) {
		return abortNames[c]
	}
	return fmt.Sprintf("pAbortCause(%d)", uint8(c))
}

// Problem is a Reject problem code: type<<8 | specifier (T1.114.3 Table 16).
type Problem uint16

// Problem types.
const (
	ProblemTypeGeneral      = 1
	ProblemTypeInvoke       = 2
	ProblemTypeReturnResult = 3
	ProblemTypeReturnError  = 4
	ProblemTypeTransaction  = 5
)

// Reject problem codes.
const (
	GeneralUnrecognisedComponentType   Problem = 0x0101
	GeneralIncorrectComponentPortion   Problem = 0x0102
	GeneralBadlyStructuredCompPortion  Problem = 0x0103
	GeneralIncorrectComponentCoding    Problem = 0x0104
	InvokeDuplicateInvocation          Problem = 0x0201
	InvokeUnrecognisedOperation        Problem = 0x0202
	InvokeIncorrectParameter           Problem = 0x0203
	InvokeUnrecognisedCorrelationID    Problem = 0x0204
	ReturnResultUnrecognisedCorrID     Problem = 0x0301
	ReturnResultUnexpected             Problem = 0x0302
	ReturnResultIncorrectParameter     Problem = 0x0303
	ReturnErrorUnrecognisedCorrID      Problem = 0x0401
	ReturnErrorUnexpected              Problem = 0x0402
	ReturnErrorUnrecognisedError       Problem = 0x0403
	ReturnErrorUnexpectedError         Problem = 0x0404
	ReturnErrorIncorrectParameter      Problem = 0x0405
	TransactionUnrecognizedPackageType Problem = 0x0501 // T1.114-1988 style; prefer Abort
	TransactionIncorrectTransPortion   Problem = 0x0502
	TransactionBadlyStructuredPortion  Problem = 0x0503
	TransactionUnassignedRespondingTID Problem = 0x0504
	TransactionPermissionToRelease     Problem = 0x0505
	TransactionResourceUnavailable     Problem = 0x0506
)

var problemNames = map[Problem]string{
	GeneralUnrecognisedComponentType:   "general-unrecognisedComponentType",
	GeneralIncorrectComponentPortion:   "general-incorrectComponentPortion",
	GeneralBadlyStructuredCompPortion:  "general-badlyStructuredCompPortion",
	GeneralIncorrectComponentCoding:    "general-incorrectComponentCoding",
	InvokeDuplicateInvocation:          "invoke-duplicateInvocation",
	InvokeUnrecognisedOperation:        "invoke-unrecognisedOperation",
	InvokeIncorrectParameter:           "invoke-incorrectParameter",
	InvokeUnrecognisedCorrelationID:    "invoke-unrecognisedCorrelationID",
	ReturnResultUnrecognisedCorrID:     "returnResult-unrecognisedCorrelationID",
	ReturnResultUnexpected:             "returnResult-unexpectedReturnResult",
	ReturnResultIncorrectParameter:     "returnResult-incorrectParameter",
	ReturnErrorUnrecognisedCorrID:      "returnError-unrecognisedCorrelationID",
	ReturnErrorUnexpected:              "returnError-unexpectedReturnError",
	ReturnErrorUnrecognisedError:       "returnError-unrecognisedError",
	ReturnErrorUnexpectedError:         "returnError-unexpectedError",
	ReturnErrorIncorrectParameter:      "returnError-incorrectParameter",
	TransactionUnrecognizedPackageType: "transaction-unrecognizedPackageType",
	TransactionIncorrectTransPortion:   "transaction-incorrectTransPortion",
	TransactionBadlyStructuredPortion:  "transaction-badlyStructuredTransPortion",
	TransactionUnassignedRespondingTID: "transaction-unassignedRespondingTransID",
	TransactionPermissionToRelease:     "transaction-permissionToReleaseProblem",
	TransactionResourceUnavailable:     "transaction-resourceUnavailable",
}

// NewProblem builds a problem code from type and specifier.
func NewProblem(typ, specifier uint8) Problem { return Problem(uint16(typ)<<8 | uint16(specifier)) }

// Type is the problem type (1 general, 2 invoke, 3 return result, 4 return
// error, 5 transaction).
func (p Problem) Type() uint8 { return uint8(p >> 8) }

// Specifier is the problem specifier within its type.
func (p Problem) Specifier() uint8 { return uint8(p) }

func (p Problem) String() string {
	if n, ok := problemNames[p]; ok {
		return n
	}
	return fmt.Sprintf("problem %d/%d", p.Type(), p.Specifier())
}
