// Only an enhancement: the registration form posts by itself (POST /register, multipart). While the
// documents upload, the button is held and the page says so, so that a slow line is not sent twice.
document.getElementById('register').addEventListener('submit', (event) => {
  const button = event.target.querySelector('button[type=submit]');
  button.disabled = true;
  document.getElementById('progress').textContent = 'กำลังส่งคำขอและเอกสาร… / Sending the request and its documents…';
});
// Back from the next page (the browser's page cache): the form is usable again.
window.addEventListener('pageshow', () => {
  document.querySelector('#register button[type=submit]').disabled = false;
  document.getElementById('progress').textContent = '';
});
