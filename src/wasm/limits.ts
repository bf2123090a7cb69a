// Limits of the app runtime, each with its reason (STYLE §1). They bound what one app module can cost a
// node: load time, memory, CPU per call and native stack. The fuel and stack limits are part of what an
// app computes (a call that runs out is rejected on every node alike), so changing them changes which
// events an app accepts: treat them like protocol constants.

/**
 * Module bytes accepted by `WasmAppRuntime.load`. Apps are reducers (the AssemblyScript sample apps are
 * 3 to 5 KB). Loading is binaryen-bound, measured on Node 20 at ~0.5 s for a 424 KB module of 9,000
 * functions (read 0.13 s, check 0.06 s, meter 0.2 s, write 0.16 s, compile 3 ms), so 1 MiB stays near a
 * second, paid once per module and process.
 */
export const MAX_MODULE_BYTES = 1024 * 1024

/**
 * Fuel per top-level call when the caller sets none. One unit is roughly one WebAssembly instruction
 * (metering.ts). Measured on Node 20: a one-instruction loop burns 10 million units in ~5 ms, which bounds
 * what a hostile event costs; a tic-tac-toe move costs ~1,400 units and the heaviest sample app call (the
 * collaborative document at its size limit, hashing in-app) under 1 million.
 */
export const DEFAULT_FUEL_PER_CALL = 10_000_000

/** The fuel counter is an i32 global (cheap for the host to set and read): budgets must fit below 2^31. */
export const MAX_FUEL_PER_CALL = 2 ** 31 - 1

/**
 * Linear memory cap (64 KiB pages) when the caller sets none: 1 MiB holds the stub runtime's heap for a
 * call on the largest state and event (below) many times over, and one instance per module stays small.
 */
export const DEFAULT_MEMORY_PAGES = 16

/** Largest memory cap a caller may choose (16 MiB): every loaded module keeps its memory for its lifetime. */
export const MAX_MEMORY_PAGES = 256

/**
 * App state bytes in and out of a call: a state is hashed for every event (DESIGN §4) and kept in
 * snapshots; a game state is tens to hundreds of bytes.
 */
export const MAX_STATE_BYTES = 64 * 1024

/** One event's payload: it travels in a wire message (core MAX_MESSAGE_BYTES) with many others. */
export const MAX_EVENT_BYTES = 16 * 1024

/** Channel params given to `init`: participant count and the app's settings, part of the genesis event. */
export const MAX_PARAMS_BYTES = 4 * 1024

/**
 * Native stack budget of one call, in units of 8 bytes. V8's own stack limit depends on the machine, the
 * Node version and even the compiler tier (Liftoff frames are larger than TurboFan's): measured on Node
 * 20, a one-parameter recursion overflows after 17,936 frames under Liftoff and 25,111 under TurboFan.
 * An overflow there would make acceptance of an event nondeterministic, so metering charges each call a
 * frame cost (below) against this budget and traps first. 32,768 units = 256 KiB, a quarter of Node's
 * default ~984 KiB stack, leaving the rest to the host's own frames.
 */
export const MAX_STACK_UNITS = 32_768

/**
 * Fixed part of a frame's cost in stack units; a frame also costs one unit per local (params included)
 * and one per level of expression nesting. Measured Liftoff frames: 56 bytes with one parameter, ~8.1
 * bytes more per i64 local, ~4 bytes per nesting level; these charges stay above all three.
 */
export const STACK_UNITS_PER_FRAME = 16

/**
 * `memory.copy`, `memory.fill` and `memory.init` touch `size` bytes in one instruction: they are charged
 * one unit per this many bytes, about what a plain instruction costs in time.
 */
export const BULK_MEMORY_BYTES_PER_FUEL = 16

/**
 * Participants an app channel may have (app-abi.md: params begin with `u8 participants`, 2..255): an
 * outcome must carry one weight per participant, so a count outside this range is a broken result. The
 * upper bound is core's MAX_PARTICIPANTS.
 */
export const MIN_PARTICIPANTS = 2

/**
 * Expression nesting within one function. binaryen's binary writer recurses once per level and, measured
 * on Node 20, runs out of JS stack at about 2,500 levels with the default stack and at about 500 with a
 * 200 KiB one; an overflow inside binaryen can leave its own stack pointer behind. AssemblyScript apps
 * nest about 20 deep (the sample apps: 15 to 20), so 256 refuses nothing real and keeps binaryen far
 * from the limit.
 */
export const MAX_EXPRESSION_DEPTH = 256
