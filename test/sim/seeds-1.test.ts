// Seeds 1…100 of the 300 CI runs (seeds.ts).
import { seedRange } from './seeds.js'

seedRange(1, 100)
