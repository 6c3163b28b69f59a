'use strict'
// Target C: httpipe mounted in a plain Express 5 app, as a user would do it.
const http = require('node:http')
const path = require('node:path')
const express = require('express')

// HTTPIPE_DIST lets the bench compare another build; HTTPIPE_OPTIONS (JSON) is passed to httpipe() when set.
const dist = process.env.HTTPIPE_DIST || path.join(__dirname, '..', '..', 'dist')
const { httpipe } = require(path.join(dist, 'index.js'))
const options = process.env.HTTPIPE_OPTIONS ? JSON.parse(process.env.HTTPIPE_OPTIONS) : undefined

// HTTPIPE_OBSERVE=1 (server E): a synchronous allow-all authorize and httpipe/metrics on, what the observe scenario compares with C.
const observe = process.env.HTTPIPE_OBSERVE === '1'
const pipe = httpipe({ ...options, ...(observe ? { authorize: () => true } : {}) })
if (observe) require(path.join(dist, 'metrics.js')).httpipeMetrics(pipe)

const app = express()
app.use('/channels', pipe)

const server = http.createServer(app)
server.requestTimeout = 0
server.listen(Number(process.env.PORT), process.env.HOST || '127.0.0.1')
