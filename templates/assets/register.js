// The registration form sent as the API's multipart request, with the answer shown in the page.
document.getElementById('register').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const data = {};
  for (const name of ['identityVerification', 'citizenId', 'firstNameTh', 'lastNameTh', 'email', 'position', 'unitCode', 'username', 'password']) {
    const value = form.get(name);
    if (value) data[name] = value;
  }
  data.requestedAccess = form.getAll('access').map((v) => { const [system, role] = String(v).split(':'); return { system, role }; });
  const body = new FormData();
  body.append('data', JSON.stringify(data));
  for (const file of form.getAll('documents')) body.append('documents', file);
  const response = await fetch('/api/v1/registrations', { method: 'POST', body });
  const answer = await response.json();
  const result = document.getElementById('result');
  if (response.status === 202) {
    result.className = 'notice';
    result.textContent = 'ส่งคำขอแล้ว รหัสติดตาม / Submitted. Tracking code: ' + answer.trackingCode;
  } else {
    result.className = 'error';
    result.textContent = answer.detail || ('Error ' + response.status);
  }
});
