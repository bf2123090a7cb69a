// Property tests run on a fixed seed so CI is reproducible (a red run replays exactly); set FC_SEED to a
// number to explore other cases, or FC_SEED=random for a fresh seed each run (it is printed on failure).
import fc from 'fast-check'

const configured = process.env.FC_SEED
if (configured !== 'random') fc.configureGlobal({ seed: Number(configured ?? 20_261_121) })
