package ain

// Context-specific tag numbers of the AIN parameters (AIN-Parameters.asn).
// Every parameter is IMPLICIT-tagged with a number unique in the module, so
// the tag alone names the parameter wherever it appears. Tags of 31 and more
// use the high-tag-number form (9F nn, BF nn; 9F 81 0D for 141).
//
// Tag 146 is declared twice in the ASN.1 (ExtendedRinging and PartyOnHold,
// both NULL); TagExtendedRinging names it.
const (
	TagAccessCode                      uint32 = 1
	TagACGEncountered                  uint32 = 2
	TagAlternateBillingIndicator       uint32 = 3
	TagAlternateCarrier                uint32 = 4
	TagAlternateTrunkGroup             uint32 = 5
	TagAMAAlternateBillingNumber       uint32 = 6
	TagAMABusinessCustomerID           uint32 = 7
	TagAMADigitsDialedWC               uint32 = 8
	TagAMALineNumber                   uint32 = 9
	TagAMAslpID                        uint32 = 10
	TagAmp1                            uint32 = 11
	TagAnswerIndicator                 uint32 = 12
	TagBearerCapability                uint32 = 13
	TagBusyCause                       uint32 = 14
	TagCalledPartyID                   uint32 = 15
	TagCalledPartyStationType          uint32 = 16
	TagCallingPartyBGID                uint32 = 17
	TagCallingPartyID                  uint32 = 18
	TagChargeNumber                    uint32 = 19
	TagChargePartyStationType          uint32 = 20
	TagClearCause                      uint32 = 21
	TagCollectedAddressInfo            uint32 = 22
	TagCollectedDigits                 uint32 = 23
	TagControllingLegTreatment         uint32 = 24
	TagDisconnectFlag                  uint32 = 25
	TagDisplayText                     uint32 = 26
	TagMlhg                            uint32 = 29
	TagFacilityMemberID                uint32 = 31
	TagFailureCause                    uint32 = 32
	TagGenericName                     uint32 = 33
	TagLata                            uint32 = 35
	TagOriginalCalledPartyID           uint32 = 36
	TagOutpulseNumber                  uint32 = 37
	TagOverflowBillingIndicator        uint32 = 38
	TagPassiveLegTreatment             uint32 = 39
	TagPrimaryBillingIndicator         uint32 = 40
	TagCarrier                         uint32 = 41
	TagPrimaryTrunkGroup               uint32 = 42
	TagRedirectingPartyID              uint32 = 43
	TagRedirectionInformation          uint32 = 44
	TagResourceType                    uint32 = 45
	TagSecondAlternateBillingIndicator uint32 = 46
	TagSecondAlternateCarrier          uint32 = 47
	TagSecondAlternateTrunkGroup       uint32 = 48
	TagSpid                            uint32 = 49
	TagStrParameterBlock               uint32 = 50
	TagTcm                             uint32 = 51
	TagTriggerCriteriaType             uint32 = 52
	TagUserID                          uint32 = 53
	TagVerticalServiceCode             uint32 = 54
	TagApplicationErrorString          uint32 = 55
	TagErrorCause                      uint32 = 56
	TagFailedMessage                   uint32 = 57
	TagConnectTime                     uint32 = 58
	TagControlCauseIndicator           uint32 = 59
	TagEchoData                        uint32 = 60
	TagFacilityStatus                  uint32 = 61
	TagGapDuration                     uint32 = 62
	TagNationalGapInterval             uint32 = 63
	TagPrivateGapInterval              uint32 = 64
	TagMonitorTime                     uint32 = 65
	TagStatusCause                     uint32 = 66
	TagTerminationIndicator            uint32 = 67
	TagTriggerCriteriaFlag             uint32 = 68
	TagGlobalTitleAddress              uint32 = 69
	TagTranslationType                 uint32 = 70
	TagAMAMeasure                      uint32 = 71
	TagCloseCause                      uint32 = 72
	TagAMAMeasurement                  uint32 = 73
	TagClearCauseData                  uint32 = 74
	TagEnvelopContent                  uint32 = 75
	TagDPConverter                     uint32 = 76
	TagSrhrGroupID                     uint32 = 77
	TagIPReturnBlock                   uint32 = 78
	TagCarrierUsage                    uint32 = 79
	TagGenericAddress                  uint32 = 80
	TagSap                             uint32 = 81
	TagAMASetHexABIndicator            uint32 = 82
	TagServiceContext                  uint32 = 83
	TagExtensionParameter              uint32 = 84
	TagSecurityEnvelope                uint32 = 85
	TagDestinationAddress              uint32 = 86
	TagOcn                             uint32 = 87
	TagAMABillingFeature               uint32 = 88
	TagAMASequenceNumber               uint32 = 89
	TagApplicationIndicator            uint32 = 90
	TagONoAnswerTimer                  uint32 = 91
	TagEDPRequest                      uint32 = 92
	TagEDPNotification                 uint32 = 93
	TagBusyType                        uint32 = 94
	TagAMABAFModules                   uint32 = 95
	TagSTRConnection                   uint32 = 96
	TagNetworkTestDesignator           uint32 = 97
	TagEnvelopeEncodingAuthority       uint32 = 98
	TagTNoAnswerTimer                  uint32 = 99
	TagInfoProvided                    uint32 = 100
	TagAMAServiceProviderID            uint32 = 101
	TagTriggerItemAssignment           uint32 = 102
	TagSSPUserResource                 uint32 = 103
	TagSrhrGroup                       uint32 = 104
	TagMsrID                           uint32 = 106
	TagGenericAddressList              uint32 = 107
	TagNetworkSpecificFacilities       uint32 = 108
	TagAmp2                            uint32 = 109
	TagACGGlobalOverride               uint32 = 110
	TagNotificationIndicator           uint32 = 111
	TagFailureCauseData                uint32 = 112
	TagForwardCallIndicator            uint32 = 113
	TagProvideInfo                     uint32 = 114
	TagAlternateDialingPlanInd         uint32 = 115
	TagDisconnectCause                 uint32 = 116
	TagCongestionLevel                 uint32 = 117
	TagOperationsMonitoringAssignment  uint32 = 118
	TagControlEncountered              uint32 = 127
	TagNotificationDuration            uint32 = 128
	TagOSIIndicator                    uint32 = 129
	TagSubsystemNumber                 uint32 = 130
	TagWakeUpDuration                  uint32 = 131
	TagLegID                           uint32 = 132
	TagCcID                            uint32 = 133
	TagBCMType                         uint32 = 134
	TagPointInCall                     uint32 = 135
	TagFeatureActivatorID              uint32 = 136
	TagCsID                            uint32 = 137
	TagLampTreatment                   uint32 = 138
	TagTimeoutTimer                    uint32 = 139
	TagCTRConnection                   uint32 = 141
	TagSignalingPointCode              uint32 = 142
	TagRTPReroutingNumber              uint32 = 143
	TagRTPServiceIndicator             uint32 = 144
	TagExtendedRinging                 uint32 = 146
	TagJurisdictionInformation         uint32 = 147
	TagPrefix                          uint32 = 148
	TagGenericDigits                   uint32 = 149
	TagGenericDigitsList               uint32 = 150
	TagResultCause                     uint32 = 151
	TagApplyRestrictions               uint32 = 152
	TagDTMFDigitsDetected              uint32 = 153
	TagODTMFDigitsString               uint32 = 154
	TagODTMFNumberOfDigits             uint32 = 155
	TagTSTRCTimer                      uint32 = 156
	TagTDTMFDigitString                uint32 = 157
	TagTDTMFNumberOfDigits             uint32 = 158
	TagPartyID                         uint32 = 159
	TagCallingGeodeticLocation         uint32 = 162
	TagTransID                         uint32 = 163
	TagActResult                       uint32 = 164
	TagCallType                        uint32 = 165
	TagSSPResponseMessageTimerT1       uint32 = 166
	TagTimerUpdated                    uint32 = 167
)

var paramNames = map[uint32]string{
	1:   "accessCode",
	2:   "aCGEncountered",
	3:   "alternateBillingIndicator",
	4:   "alternateCarrier",
	5:   "alternateTrunkGroup",
	6:   "aMAAlternateBillingNumber",
	7:   "aMABusinessCustomerID",
	8:   "aMADigitsDialedWC",
	9:   "aMALineNumber",
	10:  "aMAslpID",
	11:  "amp1",
	12:  "answerIndicator",
	13:  "bearerCapability",
	14:  "busyCause",
	15:  "calledPartyID",
	16:  "calledPartyStationType",
	17:  "callingPartyBGID",
	18:  "callingPartyID",
	19:  "chargeNumber",
	20:  "chargePartyStationType",
	21:  "clearCause",
	22:  "collectedAddressInfo",
	23:  "collectedDigits",
	24:  "controllingLegTreatment",
	25:  "disconnectFlag",
	26:  "displayText",
	29:  "mlhg",
	31:  "facilityMemberID",
	32:  "failureCause",
	33:  "genericName",
	35:  "lata",
	36:  "originalCalledPartyID",
	37:  "outpulseNumber",
	38:  "overflowBillingIndicator",
	39:  "passiveLegTreatment",
	40:  "primaryBillingIndicator",
	41:  "carrier",
	42:  "primaryTrunkGroup",
	43:  "redirectingPartyID",
	44:  "redirectionInformation",
	45:  "resourceType",
	46:  "secondAlternateBillingIndicator",
	47:  "secondAlternateCarrier",
	48:  "secondAlternateTrunkGroup",
	49:  "spid",
	50:  "strParameterBlock",
	51:  "tcm",
	52:  "triggerCriteriaType",
	53:  "userID",
	54:  "verticalServiceCode",
	55:  "applicationErrorString",
	56:  "errorCause",
	57:  "failedMessage",
	58:  "connectTime",
	59:  "controlCauseIndicator",
	60:  "echoData",
	61:  "facilityStatus",
	62:  "gapDuration",
	63:  "nationalGapInterval",
	64:  "privateGapInterval",
	65:  "monitorTime",
	66:  "statusCause",
	67:  "terminationIndicator",
	68:  "triggerCriteriaFlag",
	69:  "globalTitleAddress",
	70:  "translationType",
	71:  "aMAMeasure",
	72:  "closeCause",
	73:  "aMAMeasurement",
	74:  "clearCauseData",
	75:  "envelopContent",
	76:  "dPConverter",
	77:  "srhrGroupID",
	78:  "iPReturnBlock",
	79:  "carrierUsage",
	80:  "genericAddress",
	81:  "sap",
	82:  "aMASetHexABIndicator",
	83:  "serviceContext",
	84:  "extensionParameter",
	85:  "securityEnvelope",
	86:  "destinationAddress",
	87:  "ocn",
	88:  "aMABillingFeature",
	89:  "aMASequenceNumber",
	90:  "applicationIndicator",
	91:  "oNoAnswerTimer",
	92:  "eDPRequest",
	93:  "eDPNotification",
	94:  "busyType",
	95:  "aMABAFModules",
	96:  "sTRConnection",
	97:  "networkTestDesignator",
	98:  "envelopeEncodingAuthority",
	99:  "tNoAnswerTimer",
	100: "infoProvided",
	101: "aMAServiceProviderID",
	102: "triggerItemAssignment",
	103: "sSPUserResource",
	104: "srhrGroup",
	106: "msrID",
	107: "genericAddressList",
	108: "networkSpecificFacilities",
	109: "amp2",
	110: "aCGGlobalOverride",
	111: "notificationIndicator",
	112: "failureCauseData",
	113: "forwardCallIndicator",
	114: "provideInfo",
	115: "alternateDialingPlanInd",
	116: "disconnectCause",
	117: "congestionLevel",
	118: "operationsMonitoringAssignment",
	127: "controlEncountered",
	128: "notificationDuration",
	129: "oSIIndicator",
	130: "subsystemNumber",
	131: "wakeUpDuration",
	132: "legID",
	133: "ccID",
	134: "bCMType",
	135: "pointInCall",
	136: "featureActivatorID",
	137: "csID",
	138: "lampTreatment",
	139: "timeoutTimer",
	141: "cTRConnection",
	142: "signalingPointCode",
	143: "rTPReroutingNumber",
	144: "rTPServiceIndicator",
	146: "extendedRinging|partyOnHold",
	147: "jurisdictionInformation",
	148: "prefix",
	149: "genericDigits",
	150: "genericDigitsList",
	151: "resultCause",
	152: "applyRestrictions",
	153: "dTMFDigitsDetected",
	154: "oDTMFDigitsString",
	155: "oDTMFNumberOfDigits",
	156: "tSTRCTimer",
	157: "tDTMFDigitString",
	158: "tDTMFNumberOfDigits",
	159: "partyID",
	162: "callingGeodeticLocation",
	163: "transID",
	164: "actResult",
	165: "callType",
	166: "sSPResponseMessageTimerT1",
	167: "timerUpdated",
}

// ParamName returns the ASN.1 name of the AIN parameter with context tag
// number tag ("calledPartyID"), or "" for a number the module does not use.
func ParamName(tag uint32) string { return paramNames[tag] }
