package ain

import "strconv"

// OpCode is an AIN private TCAP operation code: family in the high octet
// (0x64-0x6E), specifier in the low octet. It is sent as D1 02 FF SS.
type OpCode uint16

// The AIN 0.2 operations (every CODE private: line of AIN-Operations.asn).
const (
	OpInfoCollected           OpCode = 25602 // 0x6402 SSP->SCP query
	OpInfoAnalyzed            OpCode = 25603 // 0x6403 SSP->SCP query
	OpFailureOutcome          OpCode = 25604 // 0x6404
	OpTerminationAttempt      OpCode = 25605 // 0x6405 SSP->SCP query (TAT trigger)
	OpTBusy                   OpCode = 25606 // 0x6406
	OpTNoAnswer               OpCode = 25608 // 0x6408
	OpONoAnswer               OpCode = 25609 // 0x6409
	OpTAnswer                 OpCode = 25610 // 0x640A
	OpOAnswer                 OpCode = 25611 // 0x640B
	OpOTermSeized             OpCode = 25612 // 0x640C
	OpTermResourceAvailable   OpCode = 25613 // 0x640D
	OpOAbandon                OpCode = 25614 // 0x640E
	OpOMidCall                OpCode = 25615 // 0x640F
	OpSuccessOutcome          OpCode = 25617 // 0x6411
	OpTDisconnect             OpCode = 25618 // 0x6412
	OpTMidCall                OpCode = 25619 // 0x6413
	OpTimeout                 OpCode = 25620 // 0x6414
	OpNetworkBusy             OpCode = 25623 // 0x6417
	OpOriginationAttempt      OpCode = 25624 // 0x6418
	OpOSuspended              OpCode = 25625 // 0x6419
	OpODisconnect             OpCode = 25626 // 0x641A
	OpTDTMFEntered            OpCode = 25628 // 0x641C
	OpAnalyzeRoute            OpCode = 25857 // 0x6501 SCP->SSP
	OpAuthorizeTermination    OpCode = 25858 // 0x6502 SCP->SSP: let the call ring
	OpDisconnect              OpCode = 25859 // 0x6503 SCP->SSP: clear the call
	OpOfferCall               OpCode = 25860 // 0x6504
	OpCollectInformation      OpCode = 25861 // 0x6505
	OpCreateCall              OpCode = 25863 // 0x6507
	OpDisconnectLeg           OpCode = 25864 // 0x6508
	OpMergeCall               OpCode = 25865 // 0x6509
	OpMoveLeg                 OpCode = 25866 // 0x650A
	OpOriginateCall           OpCode = 25867 // 0x650B
	OpSplitLeg                OpCode = 25868 // 0x650C
	OpContinue                OpCode = 25869 // 0x650D
	OpReconnect               OpCode = 25870 // 0x650E
	OpSendToResource          OpCode = 26113 // 0x6601 SCP->SSP: announcement / digit collection
	OpResourceClear           OpCode = 26114 // 0x6602 SSP->SCP, answers sendToResource
	OpCancelResourceEvent     OpCode = 26115 // 0x6603
	OpCallInfoFromResource    OpCode = 26116 // 0x6604
	OpConnectToResource       OpCode = 26117 // 0x6605
	OpCTRClear                OpCode = 26118 // 0x6606
	OpMonitorForChange        OpCode = 26369 // 0x6701
	OpStatusReported          OpCode = 26370 // 0x6702
	OpMonitorSuccess          OpCode = 26371 // 0x6703
	OpTerminationNotification OpCode = 26372 // 0x6704
	OpUpdateRequest           OpCode = 26625 // 0x6801
	OpQueryRequest            OpCode = 26626 // 0x6802
	OpUpdate                  OpCode = 26627 // 0x6803
	OpACG                     OpCode = 26881 // 0x6901 SCP->SSP: automatic code gapping
	OpEchoRequest             OpCode = 26882 // 0x6902
	OpACGGlobalCtrlRestore    OpCode = 26883 // 0x6903
	OpACGOverflow             OpCode = 26884 // 0x6904
	OpControlRequest          OpCode = 26885 // 0x6905
	OpActivityTest            OpCode = 26886 // 0x6906
	OpCallTypeRequest         OpCode = 26887 // 0x6907
	OpSetTimer                OpCode = 26889 // 0x6909
	OpForwardCall             OpCode = 27137 // 0x6A01 SCP->SSP: route the call elsewhere
	OpNCARequest              OpCode = 27393 // 0x6B01
	OpNCAData                 OpCode = 27394 // 0x6B02
	OpFurnishAMAInformation   OpCode = 27649 // 0x6C01
	OpRequestReportBCMEvent   OpCode = 27905 // 0x6D01
	OpClose                   OpCode = 28161 // 0x6E01
)

var opNames = map[OpCode]string{
	OpInfoCollected: "infoCollected", OpInfoAnalyzed: "infoAnalyzed",
	OpFailureOutcome: "failureOutcome", OpTerminationAttempt: "terminationAttempt",
	OpTBusy: "tBusy", OpTNoAnswer: "tNoAnswer", OpONoAnswer: "oNoAnswer",
	OpTAnswer: "tAnswer", OpOAnswer: "oAnswer", OpOTermSeized: "oTermSeized",
	OpTermResourceAvailable: "termResourceAvailable", OpOAbandon: "oAbandon",
	OpOMidCall: "oMidCall", OpSuccessOutcome: "successOutcome",
	OpTDisconnect: "tDisconnect", OpTMidCall: "tMidCall", OpTimeout: "timeout",
	OpNetworkBusy: "networkBusy", OpOriginationAttempt: "originationAttempt",
	OpOSuspended: "oSuspended", OpODisconnect: "oDisconnect",
	OpTDTMFEntered: "tDTMFEntered", OpAnalyzeRoute: "analyzeRoute",
	OpAuthorizeTermination: "authorizeTermination", OpDisconnect: "disconnect",
	OpOfferCall: "offerCall", OpCollectInformation: "collectInformation",
	OpCreateCall: "createCall", OpDisconnectLeg: "disconnectLeg",
	OpMergeCall: "mergeCall", OpMoveLeg: "moveLeg", OpOriginateCall: "originateCall",
	OpSplitLeg: "splitLeg", OpContinue: "continue", OpReconnect: "reconnect",
	OpSendToResource: "sendToResource", OpResourceClear: "resourceClear",
	OpCancelResourceEvent:  "cancelResourceEvent",
	OpCallInfoFromResource: "callInfoFromResource",
	OpConnectToResource:    "connectToResource", OpCTRClear: "cTRClear",
	OpMonitorForChange: "monitorForChange", OpStatusReported: "statusReported",
	OpMonitorSuccess: "monitorSuccess", OpTerminationNotification: "terminationNotification",
	OpUpdateRequest: "updateRequest", OpQueryRequest: "queryRequest", OpUpdate: "update",
	OpACG: "acg", OpEchoRequest: "echoRequest", OpACGGlobalCtrlRestore: "acgGlobalCtrlRestore",
	OpACGOverflow: "acgOverflow", OpControlRequest: "controlRequest",
	OpActivityTest: "activityTest", OpCallTypeRequest: "callTypeRequest",
	OpSetTimer: "setTimer", OpForwardCall: "forwardCall", OpNCARequest: "nCARequest",
	OpNCAData: "nCAData", OpFurnishAMAInformation: "furnishAMAInformation",
	OpRequestReportBCMEvent: "requestReportBCMEvent", OpClose: "close",
}

// OpName returns the ASN.1 name of an AIN operation ("terminationAttempt"),
// or "" if code is not an AIN 0.2 operation.
func OpName(code OpCode) string { return opNames[code] }

// Known reports whether code is an AIN 0.2 operation.
func (c OpCode) Known() bool { _, ok := opNames[c]; return ok }

// Family returns the operation family octet (0x64 Request/Notification, ...).
func (c OpCode) Family() uint8 { return uint8(c >> 8) }

// Specifier returns the operation specifier octet.
func (c OpCode) Specifier() uint8 { return uint8(c) }

// String returns the operation name, or "op(0xFFSS)" for unknown codes.
func (c OpCode) String() string {
	if n := opNames[c]; n != "" {
		return n
	}
	return "op(0x" + hex4(uint16(c)) + ")"
}

// ErrorCode is an AIN private TCAP error code (sent as D4 01 ee).
type ErrorCode uint8

// AIN errors (AIN-Errors.asn).
const (
	ErrCodeApplicationError ErrorCode = 1 // parameter: ApplicationErrorString
	ErrCodeFailureReport    ErrorCode = 2 // parameter: FailureCause
)

// String returns "applicationError", "failureReport" or "error(n)".
func (c ErrorCode) String() string {
	switch c {
	case ErrCodeApplicationError:
		return "applicationError"
	case ErrCodeFailureReport:
		return "failureReport"
	}
	return "error(" + strconv.Itoa(int(c)) + ")"
}

func hex4(v uint16) string {
	const h = "0123456789ABCDEF"
	return string([]byte{h[v>>12], h[v>>8&15], h[v>>4&15], h[v&15]})
}
