// Package fraud is callgate's toll-fraud signal: it rates every outbound
// call, watches each group's spend for the day against thresholds learned
// from the group's own history, raises an alert and then locks the group
// down, so that the engine refuses its calls to international and premium
// destinations (Call.FraudLocked; policy's originating chain) until an
// operator, giving a written reason, unlocks it.
//
// # The map
//
//   - decider.go: Wrap, the decision hook around the engine for
//     originating calls: FraudLocked before the engine, the call opened as
//     in progress after it.
//   - monitor.go: Monitor: New (loads the state), Record (one CDR),
//     Recompute (value, roll, evaluate, act, checkpoint), Run.
//   - spend.go: one group's day: completed calls, history, baseline,
//     doubling, the evaluation; scale.go: the multiplier scale and the
//     thresholds; day.go: local dates.
//   - calls.go: the calls in progress; cdr.go: the CDR line form;
//     cdrfeed.go: CSV and JSON batches (ReadBatch) and the REST handler;
//     tail.go: a CDR file followed as it grows; journal.go: every CDR of
//     the dedup window, and what each node did with it, in State;
//     journalapply.go: duplicates, and CDRs taken on another node than
//     the one that decided the call.
//   - ratetable.go, ratecsv.go: the rate table (longest prefix, CSV);
//     rates.go: versions, import, the engine's Classifier; category.go.
//   - lock.go: lockdowns and Unlock; event.go: the audit log; webhook.go:
//     the signed alert webhook; metrics.go: callgate_fraud_*; status.go:
//     status and history for the CLI and the admin API; access.go: which
//     groups a platform owner or a service provider may see and unlock
//     (a group belongs to its subscriber's or enterprise's provider).
//   - group.go: what a group is; state.go: State, the key-value seam the
//     monitor keeps its state behind (StoreState: in the tenant store);
//     cluster.go: several nodes over one State; money.go: Money and
//     Multiplier; clock.go: Clock.
//
// # Groups
//
// A group is the account whose spend is watched and locked as one: the
// enterprise that enrolled the calling line, else the subscriber owning
// it (see GroupID for why not the service provider). Its day runs from
// local midnight to local midnight in its time zone: fraud.zones by
// subscriber, enterprise or provider, else fraud.time_zone.
//
// # Spend
//
// Money is in micros of the account currency (integers: no float is ever
// summed). A call costs its rate table price a minute times its billable
// seconds / 60, rounded up to the micro; the price is the longest
// matching prefix's (ratecsv.go has the CSV form), or
// fraud.unrated_price_per_minute when no row matches (counted, warned).
//
// A call's cost counts on the local day it ended. Today's spend is the
// completed calls (CDRs) plus the calls in progress, each valued at its
// price from its start (the engine's decision) up to now. A CDR closes the
// matching call in progress (same calling and called numbers); a CDR with
// none is rated on arrival. A CDR identical to one counted within
// fraud.cdr_dedup_window (15m), in all four fields, is a copy (a mediation
// system sending a batch again): dropped, counted in
// callgate_fraud_cdrs_total{result="duplicate"}. (Two calls from one line
// to one number starting in the same second and billed the same seconds
// are one to the monitor: a feed with sub-second start times tells them
// apart.) The spend is recomputed every fraud.interval (5m).
//
// # Thresholds
//
// At each local midnight the group's baseline is computed: its highest
// daily spend over the previous fraud.history_days (30) days, leaving out
// days with a lockdown (a day of fraud must not teach the group that such
// spend is normal). The scale (fraud.scale) turns the baseline into the
// day's alert and lockdown thresholds like tax brackets: each band's
// multipliers apply to the slice of the baseline inside the band, so a
// threshold never falls as the baseline grows, while the headroom, as a
// ratio, narrows for bigger spenders. No threshold is below the defaults
// (fraud.default_alert 10.00, fraud.default_lockdown 11.00), which is
// also where a new group, with no history, starts. Thresholds are never
// set by hand.
//
// The default scale:
//
//	baseline slice     alert   lockdown
//	0.00 - 20.00       x3      x4
//	20.00 - 100.00     x2      x2.5
//	100.00 - 1000.00   x1.5    x1.8
//	above 1000.00      x1.25   x1.4
//
// Worked examples (TestScaleWorkedExamples checks every one):
//
//	baseline   alert                                 lockdown
//	0.00       10.00 (default)                       11.00 (default)
//	2.00       10.00 (6.00 is below the default)     11.00 (8.00 is below)
//	5.00       5x3 = 15.00                           5x4 = 20.00
//	50.00      20x3 + 30x2 = 120.00                  20x4 + 30x2.5 = 155.00
//	500.00     60 + 80x2 + 400x1.5 = 820.00          80 + 80x2.5 + 400x1.8 = 1000.00
//	5000.00    60 + 160 + 900x1.5 + 4000x1.25        80 + 200 + 900x1.8 + 4000x1.4
//	           = 6570.00                             = 7500.00
//
// # Alert, lockdown, doubling
//
// At each recompute: spend at or above the alert threshold raises an alert
// (once); at or above the lockdown threshold, a lockdown: the group is
// locked (stored, so it survives restarts and midnight) and, for the rest
// of its day, both thresholds are doubled; doubled again while the
// lockdown threshold still stands at or below the spend, so the next
// warning means new spending. Spend already past the doubled alert
// threshold at that moment counts as alerted. A lockdown threshold
// reached again raises another lockdown event (the group is still locked,
// or locked again if an operator unlocked it meanwhile) and doubles
// again. Local midnight resets the factor to 1 and the alert; it does not
// unlock.
//
// Example: baseline 50.00 (120.00 / 155.00). At 14:05 the spend is
// 160.00: lockdown, thresholds 240.00 / 310.00 for the rest of the day.
// At 18:30, 245.00: an alert. At 19:00, 312.00: lockdown again,
// thresholds 480.00 / 620.00.
//
// Every event is an audit record (State audit/), a log line, a counter in
// /metrics and a webhook delivery (WebhookConfig: JSON, HMAC-SHA256
// signature over timestamp and body, retried with backoff). A lockdown
// locks through Wrap: the engine refuses the group's originating calls to
// international and premium destinations (the stricter of the rate table's
// category and the engine's own NANP reading: see Category) and lets
// domestic and mobile calls through. Calls in progress are not cut.
//
// # Unlock
//
// Only Monitor.Unlock lifts a lock: an operator's name and a written
// reason (at least 10 characters) are required, stored with an audit
// record in the same write as the unlock; if that write fails the group
// stays locked. The day's doubled thresholds stay.
//
// # Persistence
//
// The monitor keeps its state behind State (state.go lists the keys):
// locks and audit records when they happen, each group's day totals and
// the CDR files' read offsets in one checkpoint at every recompute and
// after every CDR batch. A write the store refuses is kept in memory and
// retried at the next checkpoint (counted); a lock is in force whether or
// not it is stored yet. Calls in progress are not stored: after a restart
// their CDRs are rated on arrival. The CDRs of the dedup window are (the
// CDR journal, 37 bytes each): a copy sent after a restart is still one.
// A checkpoint larger than the store takes in one transaction (etcd: 128
// keys) is written in several, in an order that counts a CDR twice
// rather than never if it stops half way (the CDR files' offsets last).
//
// # A cluster
//
// With the store on etcd every node runs a monitor over the same state
// (Config.Node names each; cluster.go has the details): every node reads
// back the locks, unlocks and rate table others stored every
// Config.SyncInterval (1s), so a lockdown anywhere refuses everywhere;
// each node keeps its own share of every group's spend and adds the
// others' at each recompute, so the thresholds apply to the whole group;
// audit records are numbered per node. A CDR may go to any node: the node
// that decided the call closes it when it reads, at its next sync, what
// the node given the CDR stored (the CDR journal), so the group's spend
// counts the call once on every node; a copy of a CDR sent to another
// node is dropped there too. Until the deciding node has closed the call
// (about two sync intervals; a minute if no node held it), the CDR is
// left out of the spend of the node that took it, and the call counts at
// its value in progress.
package fraud
