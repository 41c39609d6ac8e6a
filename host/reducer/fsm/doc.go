// Package fsm runs ONEX-style finite state machine contracts as reducer folds: an FSM
// written in YAML, no code. Load a contract with Load or LoadFile and run its Fold on a
// reducer.Node; the node owns each key's state, so every key is one machine instance.
//
// # The contract
//
// The vocabulary is omnibase_core's FSM subcontract, reduced to what is implemented:
//
//	state_machine_name: order_lifecycle     # required
//	state_machine_version: 1.0.0            # optional, informative
//	description: …                          # optional
//	initial_state: created                  # required; a new key starts here
//	states:
//	  - state_name: created                 # required, unique
//	    state_type: operational             # operational (default), snapshot, terminal or error
//	    is_terminal: false                  # or list it in terminal_states, or state_type terminal
//	    entry_actions: [note_created]       # action names, run when a transition enters it
//	    exit_actions: []                    # run when a transition leaves it
//	terminal_states: [delivered, cancelled] # accept no events
//	error_states: [failed]                  # validated; informative only
//	transitions:
//	  - transition_name: pay                # required, unique
//	    from_state: created
//	    to_state: paid
//	    trigger: pay                        # matched against the event's type
//	    conditions:                         # all must hold
//	      - condition_name: amount_positive
//	        field: /data/amount             # a JSON pointer into the scope, below
//	        operator: greater_than
//	        value: 0
//	    actions: [charge]                   # action names
//	actions:
//	  - action_name: charge                 # required, unique
//	    node: payments                      # the effect node the intent names
//	    effect_type: charge
//	    operation_data: {order: "${/key}", amount: "${/data/amount}"}
//
// Decoding is strict: an unknown field, a wrong type or a second YAML document is an
// error. Load then checks, and reports the first problem with its field path and line
// ("fsm: invalid contract: transitions[1].to_state: unknown state "shiped" (line 14)"):
// required fields; unique state, transition, action and (per transition) condition
// names; that initial_state, terminal_states, error_states, from_state and to_state
// name states; that no transition leaves a terminal state; that every referenced action
// exists and every action is used; operators and their values; JSON pointers and
// templates; that every state is reachable from initial_state; and that every state
// that is not terminal has an outgoing transition.
//
// # Scope: what conditions and templates see
//
// Conditions and templates read one JSON object through JSON pointers (RFC 6901) whose
// first token is one of: /data (the event's data), /context (the key's accumulated
// context), /key, /state (the current state), /previous_state, /event_id and /type (the
// event's). Conditions see the scope before the transition; templates see it after
// (the new state, the merged context).
//
// Operators: equals, not_equals (JSON equality), greater_than, greater_than_or_equal,
// less_than, less_than_or_equal (two numbers or two strings), in, not_in (value is a
// list), exists, not_exists (no value), matches (a Go regular expression, the field a
// string). A condition on a field that does not exist fails, except not_exists; so does
// an ordering of values of different types.
//
// Templates: operation_data is any YAML value; every string in it may hold ${/pointer}
// placeholders. A string that is exactly one placeholder becomes the value pointed at
// (a number stays a number, an object an object); a placeholder inside a longer string
// becomes the value's text (a string as is, anything else as JSON). There is no escape
// and no expression language. A placeholder that points at nothing fails the fold.
//
// # A fold
//
// The key's state is a State object: current_state, previous_state, context,
// transitions (a count) and last_transition. A new key (state null) starts in
// initial_state with an empty context; the initial state's entry actions are not run.
//
// For an event, the transitions leaving the current state whose trigger is the event's
// type are tried in the contract's order; the first whose conditions all hold is taken.
// Taking it sets current_state to to_state, previous_state to the state left, merges
// the event's data into the context when it is an object (top-level fields, the event's
// win) and emits the intents of the left state's exit actions, the transition's actions
// and the entered state's entry actions, in that order. A transition to the same state
// runs both exit and entry actions.
//
// Every fold's abi.ReduceOutput.Projection (reducer.Result.Projection) is a Projection
// carrying ONEX's seven metadata keys:
//
//	fsm_state               the state after the event
//	fsm_previous_state      the state before the event
//	fsm_transition_success  whether a transition was taken
//	fsm_transition_name     the transition taken, or the first one tried whose conditions failed; else null
//	failure_reason          null on success; else why not
//	failed_conditions       the names of the conditions that failed ([] unless they did)
//	error                   null unless the event was refused outright (below)
//
// An event the machine does not take is not a fold failure: ONEX reports it in the
// metadata, and so does this fold. The state is unchanged (for a new key: the initial
// state is stored), no intent is emitted, and the event is applied like any other —
// it gets a sequence number and its id is remembered, so a redelivery is a Duplicate
// (whose Result carries no projection: projections are not stored). The cases:
//
//   - conditions failed: failure_reason "conditions failed: a, b", failed_conditions
//     lists them (from every transition tried, in order, once each), error null;
//   - no transition for the trigger from the current state: failure_reason and error
//     say so;
//   - the current state is terminal: failure_reason and error say it accepts no
//     events.
//
// The fold fails — the reducer leaves the state untouched and dead-letters the event
// — only when the stored state is not this machine's (say, the contract lost a state),
// the event data is not JSON, or a template points at nothing.
package fsm
