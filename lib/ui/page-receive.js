// @ts-check
// The web page's receiver: one message fetched from the channel with GET, shown as text or offered
// as a file.
// page.html loads the page's scripts in order, as classic scripts sharing one scope; ui.ts inlines
// them, in that order, into one script inside one function, allowed by its hash in the page's CSP
// (so none may hold a closing script tag). What comes from the network is shown through
// textContent, never parsed as HTML, and listeners go through addEventListener (the CSP blocks
// inline handlers).
/* global $, target, pubsubBox, setStatus, setProgress, resetProgress, formatBytes, errorText, filenameFrom, isText, charsetOf, runInPanel, authorize */
'use strict'

const receiveButton = $('receive', HTMLButtonElement)
const receiveAbort = $('receive-abort', HTMLButtonElement)
const downloadBar = $('download-progress', HTMLProgressElement)
const receiveStatus = $('receive-status', HTMLElement)
const receivedText = $('received-text', HTMLPreElement)
const receivedFile = $('received-file', HTMLDivElement)
const downloadLink = $('download-link', HTMLAnchorElement)
const receivedSize = $('received-size', HTMLSpanElement)
const saveButton = $('save', HTMLButtonElement)

/** @type {XMLHttpRequest | null} */
let receiving = null
/** @type {string | null} */
let objectUrl = null

function clearReceived () {
  if (objectUrl) URL.revokeObjectURL(objectUrl)
  objectUrl = null
  receivedText.textContent = ''
  receivedText.hidden = true
  receivedFile.hidden = true
  downloadLink.removeAttribute('href')
  downloadLink.removeAttribute('download')
  downloadLink.textContent = ''
  receivedSize.textContent = ''
}

/**
 * @param {Blob} blob
 * @param {string} type
 * @param {string | null} disposition
 * @param {string | null} declaredLength
 */
function showMessage (blob, type, disposition, declaredLength) {
  const filename = filenameFrom(disposition)
  const attachment = /^\s*attachment/i.test(disposition ?? '')
  const size = formatBytes(blob.size)
  if (declaredLength !== null && declaredLength !== '' && Number(declaredLength) !== blob.size) {
    setStatus(receiveStatus, 'Incomplete message: got ' + blob.size + ' of ' + declaredLength + ' bytes.', 'error')
    return
  }
  objectUrl = URL.createObjectURL(blob)
  const name = filename || (isText(type) ? 'message.txt' : 'message.bin')
  downloadLink.href = objectUrl
  downloadLink.download = name
  downloadLink.textContent = name
  receivedSize.textContent = '(' + size + ', ' + (type || 'unknown type') + ')'
  receivedFile.hidden = false
  if (!filename && !attachment && isText(type) && blob.size <= 1048576) {
    blob.arrayBuffer().then(buffer => {
      let decoder
      try {
        decoder = new TextDecoder(charsetOf(type))
      } catch (err) {
        decoder = new TextDecoder('utf-8')
      }
      receivedText.textContent = decoder.decode(buffer)
      receivedText.hidden = false
      setStatus(receiveStatus, 'Received a text message (' + size + ').', 'ok')
    })
  } else {
    setStatus(receiveStatus, 'Received ' + (filename ? '"' + filename + '"' : 'a file') + ' (' + size + ').', 'ok')
  }
}

function receive () {
  if (receiving) return
  const t = target(true)
  if (t.error !== undefined) return setStatus(receiveStatus, t.error, 'error')
  clearReceived()
  const xhr = new XMLHttpRequest()
  xhr.open('GET', t.url)
  authorize(xhr)
  xhr.responseType = 'blob'
  xhr.addEventListener('readystatechange', () => {
    if (xhr.readyState === 2 && xhr.status === 200) {
      setProgress(downloadBar, 0, Number(xhr.getResponseHeader('Content-Length')))
      setStatus(receiveStatus, 'Receiving\u2026', 'busy')
    }
  })
  xhr.addEventListener('progress', event => {
    if (xhr.status !== 200) return
    const total = event.lengthComputable ? event.total : Number(xhr.getResponseHeader('Content-Length'))
    setProgress(downloadBar, event.loaded, total)
    setStatus(receiveStatus, 'Receiving\u2026 ' + formatBytes(event.loaded) + (total > 0 ? ' of ' + formatBytes(total) : ''), 'busy')
  })
  xhr.addEventListener('load', () => {
    /** @type {Blob | null} */
    const blob = xhr.response
    if (xhr.status === 200 && blob !== null) {
      setProgress(downloadBar, 1, 1)
      showMessage(blob, xhr.getResponseHeader('Content-Type') ?? '', xhr.getResponseHeader('Content-Disposition'), xhr.getResponseHeader('Content-Length'))
      return
    }
    resetProgress(downloadBar)
    const status = xhr.status
    const statusText = xhr.statusText
    if (blob) blob.text().then(text => { setStatus(receiveStatus, errorText(status, statusText, text), 'error') })
    else setStatus(receiveStatus, errorText(status, statusText, ''), 'error')
  })
  runInPanel(xhr, {
    bar: downloadBar,
    status: receiveStatus,
    start: receiveButton,
    cancel: receiveAbort,
    networkError: 'Network error: the connection failed or the message was cut off (did the sender go away?).',
    onEnd: () => { receiving = null }
  })
  receiving = xhr
  setProgress(downloadBar, 0, 1)
  setStatus(receiveStatus, (pubsubBox.checked ? 'Waiting for a publisher on ' : 'Waiting for a sender on ') + t.label + '\u2026', 'busy')
  xhr.send()
}

receiveButton.addEventListener('click', receive)
receiveAbort.addEventListener('click', () => { receiving?.abort() })
saveButton.addEventListener('click', () => { if (objectUrl) downloadLink.click() })
