// @ts-check
// The web page's sender: a text or a file, POSTed to the channel with upload progress.
// page.html loads the page's scripts in order, as classic scripts sharing one scope; ui.ts inlines
// them, in that order, into one script inside one function, allowed by its hash in the page's CSP
// (so none may hold a closing script tag). What comes from the network is shown through
// textContent, never parsed as HTML, and listeners go through addEventListener (the CSP blocks
// inline handlers).
/* global $, target, pubsubBox, setStatus, setProgress, resetProgress, formatBytes, errorText, contentDisposition, runInPanel, authorize */
/* exported updateSendLabel */
'use strict'

const textInput = $('text', HTMLTextAreaElement)
const fileInput = $('file', HTMLInputElement)
const fileClear = $('file-clear', HTMLButtonElement)
const sendButton = $('send', HTMLButtonElement)
const sendAbort = $('send-abort', HTMLButtonElement)
const uploadBar = $('upload-progress', HTMLProgressElement)
const sendStatus = $('send-status', HTMLElement)

/** @type {XMLHttpRequest | null} */
let sending = null

function chosenFile () {
  return fileInput.files?.[0]
}

function updateSendLabel () {
  const file = chosenFile()
  sendButton.textContent = file ? 'Send file' : 'Send text'
  fileClear.hidden = !file
}

function send () {
  if (sending) return
  const t = target(true)
  if (t.error !== undefined) return setStatus(sendStatus, t.error, 'error')
  const file = chosenFile()
  const body = file ?? textInput.value
  const total = file ? file.size : new Blob([body]).size
  const xhr = new XMLHttpRequest()
  xhr.open('POST', t.url)
  authorize(xhr)
  if (file) {
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream')
    xhr.setRequestHeader('Content-Disposition', contentDisposition(file.name))
  } else {
    xhr.setRequestHeader('Content-Type', 'text/plain; charset=utf-8')
  }
  const what = file ? '"' + file.name + '"' : 'the text'
  const waiting = pubsubBox.checked ? 'Publishing ' + what + ' to ' + t.label + '\u2026' : 'Waiting for a receiver on ' + t.label + '\u2026'
  xhr.upload.addEventListener('progress', event => {
    const size = event.lengthComputable ? event.total : total
    setProgress(uploadBar, event.loaded, size)
    if (size > 0 && event.loaded < size) setStatus(sendStatus, waiting + ' ' + formatBytes(event.loaded) + ' of ' + formatBytes(size) + ' sent', 'busy')
    else setStatus(sendStatus, waiting, 'busy')
  })
  xhr.addEventListener('load', () => {
    if (xhr.status >= 200 && xhr.status < 300) {
      setProgress(uploadBar, 1, 1)
      const receivers = xhr.getResponseHeader('X-Httpipe-Receivers')
      let text = 'Sent ' + what + ' (' + formatBytes(total) + ')'
      if (receivers === '0') text += ', but no receiver was waiting: nobody got it.'
      else if (receivers !== null) text += ' to ' + receivers + (receivers === '1' ? ' receiver.' : ' receivers.')
      else text += '.'
      setStatus(sendStatus, text, 'ok')
    } else {
      resetProgress(uploadBar)
      setStatus(sendStatus, errorText(xhr.status, xhr.statusText, xhr.responseText), 'error')
    }
  })
  runInPanel(xhr, {
    bar: uploadBar,
    status: sendStatus,
    start: sendButton,
    cancel: sendAbort,
    networkError: 'Network error: the connection failed or the receiver went away.',
    onEnd: () => { sending = null }
  })
  sending = xhr
  setProgress(uploadBar, 0, total)
  setStatus(sendStatus, waiting, 'busy')
  xhr.send(body)
}

fileInput.addEventListener('change', updateSendLabel)
fileClear.addEventListener('click', () => {
  fileInput.value = ''
  updateSendLabel()
  fileInput.focus()
})
textInput.addEventListener('keydown', event => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) send()
})
sendButton.addEventListener('click', send)
sendAbort.addEventListener('click', () => { sending?.abort() })
