// The objectives a node runs, as one union the engine dispatches on.
import type { DirectFund } from './directfund/directfund.js'
import type { DirectDefund } from './directdefund/directdefund.js'
import type { LedgerUpdate } from './ledgerupdate/ledgerUpdate.js'
import type { VirtualFund } from './virtualfund/virtualfund.js'
import type { VirtualDefund } from './virtualdefund/virtualdefund.js'
import type { AppFund } from './app/appFund.js'
import type { AppDefund } from './app/appDefund.js'
import type { AppDispute } from './app/appDispute.js'

export type Objective = DirectFund | DirectDefund | LedgerUpdate | VirtualFund | VirtualDefund | AppFund | AppDefund | AppDispute
export type ObjectiveKind = Objective['kind']
