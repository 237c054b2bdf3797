// Package event owns the event loop (事件闭环): the vocabulary of events
// (severities, sources, statuses), how a new event is written, how it moves
// through the loop (reported → dispatched → handling → resolved → closed, each
// move appended to event_step, which is append-only), and the rule that sets its
// deadline. Its SLA calendar, routing and KPIs will live here too.
//
// The normal write path is Create: intake (an Open311 POST requests, a grid
// worker's report, an app, the demo pulse in package event/pulse) reports a new
// event with its category, severity, source, title and a WGS-84 point and/or a
// standard address; Create validates it, links it exactly as the loaders link a
// file (the finest grid current at the reported time and the community, through
// the schema's link_grid and link_community, migration 0630; the H3 res-12 cell
// of its point), sets its deadline (Deadline) and inserts it and its first step
// ('reported') in one transaction. The schema's trigger announces it on the
// onegrid_event channel, so the live stream shows it at once.
//
// Every function takes ctx first and a DB, which a *pgxpool.Pool and a pgx.Tx
// both satisfy, so that it can run inside a request's transaction (which will
// carry the caller's identity for row-level security). Bad input is an
// *InputError naming the field; an unknown event is ErrNotFound; a move the
// event's status does not allow is a *TransitionError (ErrChanged when another
// writer moved it meanwhile).
//
// model.go is the synthetic loop: how long handling takes and when each step
// happens, shared by the generated city's year (package citygen) and the demo
// pulse's live loop, so both tell the same story.
package event
