// @ts-check
// The web page's live subscription: text messages one after another over an EventSource.
// page.html loads the page's scripts in order, as classic scripts sharing one scope; ui.ts inlines
// them, in that order, into one script inside one function, allowed by its hash in the page's CSP
// (so none may hold a closing script tag). What comes from the network is shown through
// textContent, never parsed as HTML, and listeners go through addEventListener (the CSP blocks
// inline handlers).
/* global $, target, setStatus, withToken, hasToken */
'use strict'

const subscribeButton = $('subscribe', HTMLButtonElement)
const unsubscribeButton = $('unsubscribe', HTMLButtonElement)
const subscribeStatus = $('subscribe-status', HTMLElement)
const messageList = $('messages', HTMLOListElement)

/** @type {EventSource | null} */
let source = null

/**
 * @param {string} text
 * @param {'' | 'error'} state
 */
function stopSubscription (text, state) {
  if (source) source.close()
  source = null
  subscribeButton.disabled = false
  unsubscribeButton.disabled = true
  setStatus(subscribeStatus, text, state)
}

function subscribe () {
  if (source) return
  const t = target(true)
  if (t.error !== undefined) return setStatus(subscribeStatus, t.error, 'error')
  while (messageList.firstChild) messageList.removeChild(messageList.firstChild)
  const es = new EventSource(withToken(t.url))
  let count = 0
  const listening = 'Subscribed to ' + t.label + ': waiting for messages.'
  source = es
  es.addEventListener('open', () => {
    if (source === es) setStatus(subscribeStatus, count === 0 ? listening : count + ' received; waiting for more.', 'ok')
  })
  es.addEventListener('message', event => {
    if (source !== es) return
    const item = document.createElement('li')
    item.textContent = event.data
    messageList.appendChild(item)
    count++
    setStatus(subscribeStatus, count + (count === 1 ? ' message' : ' messages') + ' received from ' + t.label + '; waiting for more.', 'ok')
  })
  es.addEventListener('error', () => {
    if (source !== es) return
    // EventSource shows no status: a 401 or 403 closes it like any other refusal.
    if (es.readyState === EventSource.CLOSED) stopSubscription('The subscription was refused or failed: check the names' + (hasToken() ? ' and the access token (a 401 or 403 closes it).' : ', and whether this server needs an access token.'), 'error')
    else setStatus(subscribeStatus, 'Connection lost; reconnecting\u2026', 'busy')
  })
  subscribeButton.disabled = true
  unsubscribeButton.disabled = false
  setStatus(subscribeStatus, 'Connecting to ' + t.label + '\u2026', 'busy')
}

subscribeButton.addEventListener('click', subscribe)
unsubscribeButton.addEventListener('click', () => { stopSubscription('Stopped.', '') })
