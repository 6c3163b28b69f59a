// @ts-check
// The web page (option `ui`): the channel's names, its URL, the location hash and the access token;
// loaded last, it starts the page.
// page.html loads the page's scripts in order, as classic scripts sharing one scope; ui.ts inlines
// them, in that order, into one script inside one function, allowed by its hash in the page's CSP
// (so none may hold a closing script tag). What comes from the network is shown through
// textContent, never parsed as HTML, and listeners go through addEventListener (the CSP blocks
// inline handlers).
/* global $, nameProblem, randomName, updateSendLabel */
/* exported target, pubsubBox, hasToken, authorize, withToken */
'use strict'

const nsInput = $('namespace', HTMLInputElement)
const chInput = $('channel', HTMLInputElement)
const pubsubBox = $('pubsub', HTMLInputElement)
const tokenInput = $('token', HTMLInputElement)
const urlCode = $('channel-url', HTMLElement)

// The API lives where this page is served, whether at /channels or /channels/.
function apiBase () {
  const path = location.pathname
  return path.charAt(path.length - 1) === '/' ? path : path + '/'
}

/**
 * The channel URL for the current names, or what to fix.
 * @param {boolean} withPubsub
 * @returns {{ url: string, label: string, error?: undefined } | { error: string, url?: undefined, label?: undefined }}
 */
function target (withPubsub) {
  const problem = nameProblem('namespace', nsInput.value) || nameProblem('channel', chInput.value)
  if (problem) return { error: problem }
  let url = apiBase() + encodeURIComponent(nsInput.value) + '/' + encodeURIComponent(chInput.value)
  if (withPubsub && pubsubBox.checked) url += '?pubsub=true'
  return { url, label: nsInput.value + '/' + chInput.value }
}

/** @returns {[string, string] | null} */
function readHash () {
  const hash = location.hash.slice(1)
  const slash = hash.indexOf('/')
  if (slash <= 0 || slash === hash.length - 1) return null
  try {
    return [decodeURIComponent(hash.slice(0, slash)), decodeURIComponent(hash.slice(slash + 1))]
  } catch (err) {
    return null
  }
}

function writeHash () {
  const hash = '#' + encodeURIComponent(nsInput.value) + '/' + encodeURIComponent(chInput.value)
  if (location.hash !== hash) history.replaceState(null, '', hash)
}

// ---- the access token: this tab only, never in the URL of a request that can carry a header ----

const TOKEN_KEY = 'httpipe-token'

function loadToken () {
  try {
    tokenInput.value = sessionStorage.getItem(TOKEN_KEY) ?? ''
  } catch (err) {}
}

function saveToken () {
  try {
    if (tokenInput.value) sessionStorage.setItem(TOKEN_KEY, tokenInput.value)
    else sessionStorage.removeItem(TOKEN_KEY)
  } catch (err) {}
}

/** Whether an access token is entered (errorText and the subscription explain a refusal by it). */
function hasToken () {
  return tokenInput.value !== ''
}

/** @param {XMLHttpRequest} xhr */
function authorize (xhr) {
  const token = tokenInput.value.trim()
  if (token) xhr.setRequestHeader('Authorization', 'Bearer ' + token)
}

/**
 * EventSource cannot send headers: the token goes in the query.
 * @param {string} url
 */
function withToken (url) {
  const token = tokenInput.value.trim()
  if (!token) return url
  return url + (url.indexOf('?') === -1 ? '?' : '&') + 'token=' + encodeURIComponent(token)
}

function showUrl () {
  const t = target(true)
  urlCode.textContent = t.url !== undefined ? location.origin + t.url : '(' + t.error + ')'
}

function onNamesChanged () {
  writeHash()
  showUrl()
}

const initial = readHash()
nsInput.value = initial ? initial[0] : 'ui'
chInput.value = initial ? initial[1] : randomName()
onNamesChanged()
updateSendLabel()
loadToken()

nsInput.addEventListener('input', onNamesChanged)
chInput.addEventListener('input', onNamesChanged)
pubsubBox.addEventListener('change', showUrl)
tokenInput.addEventListener('input', saveToken)
window.addEventListener('hashchange', () => {
  const names = readHash()
  if (!names) return
  nsInput.value = names[0]
  chInput.value = names[1]
  showUrl()
})

document.documentElement.dataset.ready = 'true'
