'use strict'

// Ports and readiness for the scenarios that start child processes (deploy, expose).

const net = require('node:net')
const { setTimeout: sleep } = require('node:timers/promises')

/** A port free now on 127.0.0.1, for a child process that cannot be told to take port 0. */
async function freePort () {
  const server = net.createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Resolves once something accepts on 127.0.0.1:`port`; throws if `child` exits first or after 10 s. */
async function accepting (port, child) {
  const deadline = Date.now() + 10000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${child.spawnfile} exited with ${child.exitCode}`)
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1')
      socket.once('connect', () => { socket.destroy(); resolve(true) })
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port}`)
    await sleep(20)
  }
}

module.exports = { freePort, accepting }
