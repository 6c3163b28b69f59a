// The standalone server that `npm start` runs: the `httpipe` CLI, with PORT, HOST and
// REQUEST_TIMEOUT read from the environment. `npm start -- --help` lists the flags.
import { main } from '../lib/cli'

main()
