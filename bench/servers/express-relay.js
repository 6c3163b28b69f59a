'use strict'
// Baseline B: the same relay as a minimal Express 5 app.
const http = require('node:http')
const express = require('express')
const { createRelay } = require('./relay-core.js')

const relay = createRelay()
const app = express()
app.post('/channels/:namespace/:channel', (req, res) => relay.handle(req.path, 'producer', req, res))
app.put('/channels/:namespace/:channel', (req, res) => relay.handle(req.path, 'producer', req, res))
app.get('/channels/:namespace/:channel', (req, res) => relay.handle(req.path, 'consumer', req, res))

const server = http.createServer(app)
server.requestTimeout = 0
server.listen(Number(process.env.PORT), process.env.HOST || '127.0.0.1')
