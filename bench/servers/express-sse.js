'use strict'
// Baseline E: the same SSE fan-out as S, as Express 5 routes: E − S is what Express costs, so
// target C (httpipe in Express) is compared with E on equal work, as B is for the relays.
const http = require('node:http')
const express = require('express')
const { createFanOut } = require('./sse-core.js')

const fanOut = createFanOut()
const app = express()
app.get('/channels/:namespace/:channel', (req, res) => fanOut.subscribe(req.path, res))
app.post('/channels/:namespace/:channel', (req, res) => fanOut.publish(req.path, req, res))
app.put('/channels/:namespace/:channel', (req, res) => fanOut.publish(req.path, req, res))

const server = http.createServer(app)
server.requestTimeout = 0
server.listen(Number(process.env.PORT), process.env.HOST || '127.0.0.1')
