package interop

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/internal/tsharktest"
	"callgate/scp/ain"
	"callgate/sigtran/m3ua"
	"callgate/sigtran/pcap"
	"callgate/sigtran/sccp"
	"callgate/sigtran/tcap"
)

var (
	sspPC = sccp.ANSIPointCode(244, 1, 10)
	scpPC = sccp.ANSIPointCode(244, 2, 20)
	sspAP = netip.MustParseAddrPort("192.0.2.10:2905")
	scpAP = netip.MustParseAddrPort("192.0.2.20:49152")
)

// frame is one message of the test capture and what tshark must read in it.
type frame struct {
	name   string
	toSCP  bool
	stream uint16
	msg    []byte
	// want maps a tshark field to its expected value (all occurrences
	// joined by ','); a value starting with '~' must only be contained.
	want map[string]string
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

type appender interface{ AppendTo([]byte) ([]byte, error) }

func enc(m appender) []byte { return must(m.AppendTo(nil)) }

// data wraps a TCAP message in SCCP (variant v, message type typ) and M3UA DATA.
func data(t *testing.T, v sccp.Variant, typ sccp.MsgType, toSCP bool, tc *tcap.Message) []byte {
	t.Helper()
	tb, err := tc.AppendTo(nil)
	if err != nil {
		t.Fatalf("tcap encode: %v", err)
	}
	return dataRaw(t, v, typ, toSCP, tb)
}

func dataRaw(t *testing.T, v sccp.Variant, typ sccp.MsgType, toSCP bool, payload []byte) []byte {
	t.Helper()
	ssp, scp := sspPC, scpPC
	if v == sccp.ITU {
		ssp, scp = sccp.ITUPointCode(1, 10, 1), sccp.ITUPointCode(2, 20, 2)
	}
	called, calling := sccp.NewSSNAddress(scp, 248), sccp.NewSSNAddress(ssp, 249)
	opc, dpc := ssp, scp
	if !toSCP {
		called, calling = calling, called
		opc, dpc = dpc, opc
	}
	if v == sccp.ITU {
		called.National, calling.National = false, false
	}
	m := sccp.Message{Variant: v, Type: typ, Called: called, Calling: calling, Data: payload}
	switch typ {
	case sccp.UDT, sccp.XUDT:
		m.Class = sccp.NewProtocolClass(1, true)
	default:
		m.Cause = sccp.CauseUnequippedUser
	}
	if typ == sccp.XUDT || typ == sccp.XUDTS {
		m.HopCounter = 15
	}
	sb, err := m.AppendTo(nil)
	if err != nil {
		t.Fatalf("sccp encode: %v", err)
	}
	ni := m3ua.NINational
	if v == sccp.ITU {
		ni = m3ua.NIInternational
	}
	d := m3ua.Data{HasRoutingContext: true, RoutingContext: 10,
		ProtocolData: m3ua.ProtocolData{OPC: uint32(opc), DPC: uint32(dpc), SI: m3ua.SISCCP, NI: ni, SLS: 5, Data: sb}}
	return enc(&d)
}

var taParams = must(hex.DecodeString("bf3507810503535510008d01008f0703100353551000920703131759552121"))

func invoke(id, corr uint8, op ain.OpCode, params []byte) tcap.Component {
	c := tcap.Component{Type: tcap.InvokeLast, HasInvokeID: true, InvokeID: id, Op: tcap.PrivateOp(uint16(op)), ParamTag: tcap.ParamSet, Params: params}
	if corr != 0 {
		c.HasCorrelationID, c.CorrelationID = true, corr
	}
	return c
}

func ansiFrames(t *testing.T) []frame {
	digits := func(s string) ain.Digits { return must(ain.DigitsFromE164(e164.MustParse(s), ain.NOANational)) }
	fwd := ain.ForwardCallArg{CalledPartyID: ain.Some(digits("+17205550123")), RedirectingPartyID: ain.Some(digits("+13035550100"))}
	str := must(ain.AnnouncementBlock([]byte{0x00, 0x15, 0x00}))
	stres := ain.SendToResourceArg{ResourceType: ain.ResourcePlayAnnouncement, StrParameterBlock: str, DisconnectFlag: true}
	acg := ain.AcgArg{ControlCauseIndicator: 0x01, GapDuration: 5, GapInterval: ain.GapInterval{Value: 5}, TranslationType: 0,
		GlobalTitleAddress: must(ain.AppendGlobalTitleAddress(nil, "303555"))}
	qwp := func(tid uint32, comps ...tcap.Component) *tcap.Message {
		return &tcap.Message{Type: tcap.QueryWithPermission, OrigTID: tcap.NewTID(tid), Components: comps}
	}
	resp := func(tid uint32, comps ...tcap.Component) *tcap.Message {
		return &tcap.Message{Type: tcap.Response, RespTID: tcap.NewTID(tid), Components: comps}
	}
	m := func(class, typ int, extra ...string) map[string]string {
		w := map[string]string{"m3ua.message_class": fmt.Sprint(class), "m3ua.message_type": fmt.Sprint(typ)}
		for i := 0; i+1 < len(extra); i += 2 {
			w[extra[i]] = extra[i+1]
		}
		return w
	}
	aspID := uint32(7)
	return []frame{
		{"ASP Up", false, 0, enc(&m3ua.ASPUp{ASPIdentifier: aspID, HasASPIdentifier: true, Info: "callgate"}), m(3, 1, "m3ua.asp_identifier", "7", "m3ua.info_string", "callgate")},
		{"ASP Up Ack", true, 0, enc(&m3ua.ASPUpAck{}), m(3, 4)},
		{"ASP Active", false, 0, enc(&m3ua.ASPActive{TrafficMode: m3ua.TrafficModeLoadshare, RoutingContexts: []uint32{10}}), m(4, 1, "m3ua.traffic_mode_type", "2", "m3ua.routing_context", "10")},
		{"ASP Active Ack", true, 0, enc(&m3ua.ASPActiveAck{TrafficMode: m3ua.TrafficModeLoadshare, RoutingContexts: []uint32{10}}), m(4, 3, "m3ua.routing_context", "10")},
		{"NTFY AS-ACTIVE", true, 0, enc(&m3ua.Notify{Status: m3ua.Status{Type: m3ua.StatusTypeASStateChange, Info: m3ua.StatusASActive}, RoutingContexts: []uint32{10}}), m(0, 1, "m3ua.status_type", "1", "m3ua.status_info", "3")},
		{"BEAT", false, 0, enc(&m3ua.Beat{Data: []byte("hb-1")}), m(3, 3, "m3ua.heartbeat_data", "68622d31")},
		{"BEAT Ack", true, 0, enc(&m3ua.BeatAck{Data: []byte("hb-1")}), m(3, 6, "m3ua.heartbeat_data", "68622d31")},
		{"DUNA", true, 0, enc(&m3ua.DUNA{RoutingContexts: []uint32{10}, AffectedPCs: []m3ua.AffectedPC{{PC: uint32(sspPC)}}}), m(2, 1, "m3ua.affected_point_code_pc", "15991050")},
		{"DAVA", true, 0, enc(&m3ua.DAVA{RoutingContexts: []uint32{10}, AffectedPCs: []m3ua.AffectedPC{{PC: uint32(sspPC)}}}), m(2, 2, "m3ua.affected_point_code_pc", "15991050")},
		{"DAUD", false, 0, enc(&m3ua.DAUD{RoutingContexts: []uint32{10}, AffectedPCs: []m3ua.AffectedPC{{PC: uint32(sspPC)}}}), m(2, 3)},
		{"SCON", true, 0, enc(&m3ua.SCON{RoutingContexts: []uint32{10}, AffectedPCs: []m3ua.AffectedPC{{PC: uint32(sspPC)}}, CongestionLevel: 2, HasCongestionLevel: true}), m(2, 4, "m3ua.congestion_level", "2")},
		{"DUPU", true, 0, enc(&m3ua.DUPU{RoutingContexts: []uint32{10}, AffectedPCs: []m3ua.AffectedPC{{PC: uint32(sspPC)}}, UserCause: m3ua.UserCause{Cause: 1, User: 3}}), m(2, 5, "m3ua.unavailability_cause", "1", "m3ua.user_identity", "3")},
		{"ERR invalid RC", true, 0, enc(&m3ua.Err{Code: 0x19, RoutingContexts: []uint32{99}}), m(0, 0, "m3ua.error_code", "25")},
		{"REG REQ", true, 0, enc(&m3ua.RegReq{Keys: []m3ua.RoutingKey{
			{LocalRKID: 1, RoutingContext: 10, HasRoutingContext: true, TrafficMode: m3ua.TrafficModeLoadshare, DPC: uint32(scpPC),
				NetworkAppearance: 7, HasNetworkAppearance: true, ServiceIndicators: []uint8{m3ua.SISCCP}, OPCs: []m3ua.AffectedPC{{PC: uint32(sspPC)}}},
			{LocalRKID: 2, DPC: uint32(sspPC), ServiceIndicators: []uint8{m3ua.SISCCP, m3ua.SIISUP}}}}),
			m(9, 1, "m3ua.local_rk_identifier", "1,2", "m3ua.dpc_pc", fmt.Sprintf("%d,%d", scpPC, sspPC), "m3ua.dpc_mask", "0,0",
				"m3ua.routing_context", "10", "m3ua.traffic_mode_type", "2", "m3ua.network_appearance", "7", "m3ua.si", "3,3,5",
				"m3ua.opc_list_pc", fmt.Sprint(uint32(sspPC)))},
		{"REG RSP", false, 0, enc(&m3ua.RegRsp{Results: []m3ua.RegResult{{LocalRKID: 1, Status: m3ua.RegStatusSuccess, RoutingContext: 10},
			{LocalRKID: 2, Status: m3ua.RegStatusInvalidDPC}}}),
			// RFC 4666 results are parameter lists: tshark reads their
			// members with the ordinary parameter fields.
			m(9, 2, "m3ua.local_rk_identifier", "1,2", "m3ua.registration_status", "0,2", "m3ua.routing_context", "10,0")},
		{"DEREG REQ", true, 0, enc(&m3ua.DeregReq{RoutingContexts: []uint32{10, 11}}), m(9, 3, "m3ua.routing_context", "10,11")},
		{"DEREG RSP", false, 0, enc(&m3ua.DeregRsp{Results: []m3ua.DeregResult{{RoutingContext: 10, Status: m3ua.DeregStatusASPActive},
			{RoutingContext: 11, Status: m3ua.DeregStatusNotRegistered}}}),
			m(9, 4, "m3ua.routing_context", "10,11", "m3ua.deregistration_status", "5,4")},

		{"Query With Permission: terminationAttempt", true, 1,
			data(t, sccp.ANSI, sccp.UDT, true, qwp(0x101, invoke(1, 0, ain.OpTerminationAttempt, taParams))),
			map[string]string{"sccp.message_type": "0x09", "sccp.called.ssn": "248", "sccp.calling.ansi_pc": "~244-1-10",
				"ansi_tcap.identifier": "00000101", "ansi_tcap.componentIDs": "01", "ansi_tcap.private": "25605",
				"ain.bcd_digits": "~3035550100"}},
		{"Response: authorizeTermination", false, 1,
			data(t, sccp.ANSI, sccp.UDT, false, resp(0x101, invoke(2, 1, ain.OpAuthorizeTermination, (&ain.AuthorizeTerminationArg{}).Marshal(nil)))),
			map[string]string{"sccp.called.ssn": "249", "ansi_tcap.identifier": "00000101", "ansi_tcap.componentIDs": "0201", "ansi_tcap.private": "25858"}},
		{"Response: disconnect", false, 1,
			data(t, sccp.ANSI, sccp.UDT, false, resp(0x102, invoke(2, 1, ain.OpDisconnect, (&ain.DisconnectArg{}).Marshal(nil)))),
			map[string]string{"ansi_tcap.private": "25859"}},
		{"Response: forwardCall", false, 1,
			data(t, sccp.ANSI, sccp.UDT, false, resp(0x103, invoke(2, 1, ain.OpForwardCall, fwd.Marshal(nil)))),
			map[string]string{"ansi_tcap.private": "27137", "ain.bcd_digits": "7205550123,3035550100"}},
		{"Response: sendToResource", false, 1,
			data(t, sccp.ANSI, sccp.UDT, false, resp(0x104, invoke(2, 1, ain.OpSendToResource, stres.Marshal(nil)))),
			map[string]string{"ansi_tcap.private": "26113", "ain.resourceType": "0"}},
		{"Response: acg + authorizeTermination", false, 1,
			data(t, sccp.ANSI, sccp.UDT, false, resp(0x105, invoke(3, 0, ain.OpACG, acg.Marshal(nil)), invoke(2, 1, ain.OpAuthorizeTermination, nil))),
			map[string]string{"ansi_tcap.private": "26881,25858", "ain.gapDuration": "5", "ain.nationalGapInterval": "5", "ansi_tcap.componentPortion": "2"}},
		{"Response: Reject unrecognised operation", false, 1,
			data(t, sccp.ANSI, sccp.UDT, false, resp(0x107, tcap.Component{Type: tcap.Reject, HasCorrelationID: true, CorrelationID: 1, Problem: tcap.NewProblem(2, 2), ParamTag: tcap.ParamSet})),
			map[string]string{"ansi_tcap.componentID": "01", "ansi_tcap.rejectProblem": "514"}},
		{"Query With Permission answered by an error", true, 1,
			data(t, sccp.ANSI, sccp.UDT, true, qwp(0x108, invoke(1, 0, ain.OpTerminationAttempt, taParams))),
			map[string]string{"ansi_tcap.private": "25605"}},
		{"Response: Return Error applicationError", false, 1,
			data(t, sccp.ANSI, sccp.UDT, false, resp(0x108, tcap.Component{Type: tcap.ReturnError, HasCorrelationID: true, CorrelationID: 1, Error: tcap.ErrorCode{Class: tcap.Private, Code: 1}, ParamTag: tcap.ParamSet, Params: must(hex.DecodeString("bf37049f380106"))})),
			map[string]string{"ansi_tcap.componentID": "01", "ansi_tcap.ec_private": "1"}},
		{"Abort: resourceUnavailable", false, 1,
			data(t, sccp.ANSI, sccp.UDT, false, &tcap.Message{Type: tcap.Abort, RespTID: tcap.NewTID(0x106), AbortCause: tcap.ResourceUnavailable}),
			map[string]string{"ansi_tcap.identifier": "00000106", "ansi_tcap.abortCause": "6"}},
		{"Query Without Permission in XUDT", true, 2,
			data(t, sccp.ANSI, sccp.XUDT, true, &tcap.Message{Type: tcap.QueryWithoutPermission, OrigTID: tcap.NewTID(0x201), Components: []tcap.Component{invoke(1, 0, ain.OpTerminationAttempt, taParams)}}),
			map[string]string{"sccp.message_type": "0x11", "sccp.hops": "0x0f", "ansi_tcap.private": "25605"}},
		{"Conversation With Permission: sendToResource (no disconnect)", false, 2,
			data(t, sccp.ANSI, sccp.UDT, false, &tcap.Message{Type: tcap.ConversationWithPerm, OrigTID: tcap.NewTID(0x9001), RespTID: tcap.NewTID(0x201),
				Components: []tcap.Component{invoke(2, 1, ain.OpSendToResource, (&ain.SendToResourceArg{ResourceType: ain.ResourcePlayAnnouncement, StrParameterBlock: str}).Marshal(nil))}}),
			map[string]string{"ansi_tcap.identifier": "0000900100000201", "ansi_tcap.private": "26113"}},
		{"Conversation Without Permission", true, 2,
			data(t, sccp.ANSI, sccp.UDT, true, &tcap.Message{Type: tcap.ConversationWithoutPerm, OrigTID: tcap.NewTID(0x201), RespTID: tcap.NewTID(0x9001), HasComponents: true}),
			map[string]string{"ansi_tcap.identifier": "0000020100009001"}},
		{"Unidirectional: acg", false, 3,
			data(t, sccp.ANSI, sccp.UDT, false, &tcap.Message{Type: tcap.Unidirectional, Components: []tcap.Component{invoke(4, 0, ain.OpACG, acg.Marshal(nil))}}),
			map[string]string{"ansi_tcap.private": "26881"}},
		{"UDTS unequipped user", false, 3,
			dataRaw(t, sccp.ANSI, sccp.UDTS, false, must(hex.DecodeString("e20ac70400000301e802e900"))),
			map[string]string{"sccp.message_type": "0x0a", "sccp.return_cause": "0x04"}},
	}
}

func writePcap(t *testing.T, frames []frame) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "interop.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcap.NewWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1764230400, 0)
	for i, fr := range frames {
		src, dst := scpAP, sspAP
		if fr.toSCP {
			src, dst = sspAP, scpAP
		}
		if err := w.WriteM3UA(t0.Add(time.Duration(i)*time.Millisecond), src, dst, fr.stream, fr.msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func check(t *testing.T, path string, frames []frame, extra ...string) {
	t.Helper()
	// Expert info: no malformed packet, bad checksum or unknown value anywhere.
	for _, l := range tsharktest.Expert(t, path, extra...) {
		t.Errorf("tshark expert: %s", l)
	}
	// One tshark run for every field of every frame (tshark takes ~0.5 s
	// to start), indexed by frame number.
	var fields []string
	col := map[string]int{}
	for _, fr := range frames {
		for k := range fr.want {
			if _, ok := col[k]; !ok {
				col[k] = len(fields) + 1
				fields = append(fields, k)
			}
		}
	}
	rows := tsharktest.FieldsOpts(t, path, "", extra, append([]string{"frame.number"}, fields...)...)
	if len(rows) != len(frames) {
		t.Fatalf("tshark returned %d frames, want %d", len(rows), len(frames))
	}
	for i, fr := range frames {
		row := rows[i]
		if row[0] != fmt.Sprint(i+1) {
			t.Fatalf("row %d is frame %s", i, row[0])
		}
		for k, want := range fr.want {
			got := ""
			if c := col[k]; c < len(row) {
				got = row[c]
			}
			if strings.HasPrefix(want, "~") {
				if !strings.Contains(got, want[1:]) {
					t.Errorf("%s: %s = %q, want it to contain %q", fr.name, k, got, want[1:])
				}
			} else if got != want {
				t.Errorf("%s: %s = %q, want %q", fr.name, k, got, want)
			}
		}
	}
}

func TestTsharkDecodesANSIStack(t *testing.T) {
	frames := ansiFrames(t)
	check(t, writePcap(t, frames), frames)
}

// ITU-format SCCP (14-bit point codes) carrying ANSI TCAP, as some
// international gateways do: tshark must decode it with the ITU standard.
func TestTsharkDecodesITUSCCP(t *testing.T) {
	frames := []frame{
		{"ITU UDT query", true, 1,
			data(t, sccp.ITU, sccp.UDT, true, &tcap.Message{Type: tcap.QueryWithPermission, OrigTID: tcap.NewTID(0x301), Components: []tcap.Component{invoke(1, 0, ain.OpTerminationAttempt, taParams)}}),
			map[string]string{"sccp.message_type": "0x09", "sccp.called.ssn": "248", "sccp.called.pc": fmt.Sprint(uint32(sccp.ITUPointCode(2, 20, 2))), "ansi_tcap.private": "25605"}},
		{"ITU XUDT response", false, 1,
			data(t, sccp.ITU, sccp.XUDT, false, &tcap.Message{Type: tcap.Response, RespTID: tcap.NewTID(0x301), Components: []tcap.Component{invoke(2, 1, ain.OpAuthorizeTermination, nil)}}),
			map[string]string{"sccp.message_type": "0x11", "sccp.calling.ssn": "248", "ansi_tcap.private": "25858"}},
	}
	check(t, writePcap(t, frames), frames, "-o", "mtp3.standard:ITU")
}
