// Seeds 201…300 of the 300 CI runs (seeds.ts).
import { seedRange } from './seeds.js'

seedRange(201, 100)
