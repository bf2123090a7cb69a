// Seeds 101…200 of the 300 CI runs (seeds.ts).
import { seedRange } from './seeds.js'

seedRange(101, 100)
