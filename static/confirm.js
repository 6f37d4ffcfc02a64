// confirm.js: forms marked data-confirm (revoke, sign out others, disable, sign out everywhere)
// ask in a dialog before they are sent. The question is the button's own name (which says
// what and whom it acts on); "yes" sends the form with confirmed=yes. Without this script the
// server asks on a page of its own instead, so the forms work either way.
(() => {
  'use strict';

  function ask(form, button) {
    const dialog = document.createElement('dialog');
    dialog.className = 'confirm';
    dialog.setAttribute('aria-labelledby', 'confirm-question');
    const question = document.createElement('p');
    question.id = 'confirm-question';
    question.textContent = `${button.textContent.trim()}?`;
    const actions = document.createElement('div');
    actions.className = 'actions';
    const yes = document.createElement('button');
    yes.type = 'button';
    yes.className = 'button danger';
    // The visible label of the button that was pressed, without its screen-reader context.
    yes.textContent = [...button.childNodes]
      .filter((node) => node.nodeType === Node.TEXT_NODE)
      .map((node) => node.textContent).join('').trim() || 'Go ahead';
    const no = document.createElement('button');
    no.type = 'button';
    no.className = 'button secondary';
    no.textContent = 'Cancel';
    actions.append(yes, no);
    dialog.append(question, actions);
    document.body.append(dialog);

    const close = () => {
      dialog.close();
      dialog.remove();
      button.focus();
    };
    no.addEventListener('click', close);
    dialog.addEventListener('cancel', (event) => { event.preventDefault(); close(); });
    yes.addEventListener('click', () => {
      const confirmed = document.createElement('input');
      confirmed.type = 'hidden';
      confirmed.name = 'confirmed';
      confirmed.value = 'yes';
      form.append(confirmed);
      dialog.close();
      form.submit();
    });
    dialog.showModal();
    no.focus(); // the safe choice is the one Enter takes
  }

  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-confirm')) return;
    if (form.querySelector('input[name=confirmed]')) return;
    event.preventDefault();
    ask(form, event.submitter || form.querySelector('button[type=submit]'));
  });
})();
