// @ts-check
// The web page's DOM helpers: element lookup, status lines, progress bars, and the request panel
// that send and receive share.
// page.html loads the page's scripts in order, as classic scripts sharing one scope; ui.ts inlines
// them, in that order, into one script inside one function, allowed by its hash in the page's CSP
// (so none may hold a closing script tag). What comes from the network is shown through
// textContent, never parsed as HTML, and listeners go through addEventListener (the CSP blocks
// inline handlers).
/* exported $, setStatus, setProgress, resetProgress, runInPanel */
'use strict'

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
function $ (id, type) {
  const element = document.getElementById(id)
  if (!(element instanceof type)) throw new Error('page.html has no ' + type.name + ' #' + id)
  return element
}

/**
 * @param {HTMLElement} element
 * @param {string} text
 * @param {'' | 'busy' | 'ok' | 'error'} state
 */
function setStatus (element, text, state) {
  element.textContent = text
  element.dataset.state = state
}

/**
 * @param {HTMLProgressElement} bar
 * @param {number} loaded
 * @param {number} total
 */
function setProgress (bar, loaded, total) {
  if (total > 0) {
    bar.max = total
    bar.value = Math.min(loaded, total)
  } else {
    bar.removeAttribute('value')
  }
}

/** @param {HTMLProgressElement} bar */
function resetProgress (bar) {
  bar.max = 1
  bar.value = 0
}

/**
 * What send and receive share: one request at a time, a progress bar, a status line, and a
 * start and a cancel button.
 * @typedef {object} RequestPanel
 * @property {HTMLProgressElement} bar
 * @property {HTMLElement} status
 * @property {HTMLButtonElement} start
 * @property {HTMLButtonElement} cancel
 * @property {string} networkError what a failed connection most likely means here
 * @property {() => void} onEnd called once the request is over, whatever its outcome
 */

/**
 * Wires a request's failure and end to its panel, and marks the panel busy.
 * @param {XMLHttpRequest} xhr
 * @param {RequestPanel} panel
 */
function runInPanel (xhr, panel) {
  xhr.addEventListener('error', () => {
    resetProgress(panel.bar)
    setStatus(panel.status, panel.networkError, 'error')
  })
  xhr.addEventListener('abort', () => {
    resetProgress(panel.bar)
    setStatus(panel.status, 'Cancelled.', '')
  })
  xhr.addEventListener('loadend', () => {
    panel.onEnd()
    panel.start.disabled = false
    panel.cancel.disabled = true
  })
  panel.start.disabled = true
  panel.cancel.disabled = false
}
