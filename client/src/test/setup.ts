import '@testing-library/jest-dom/vitest';
import { afterEach } from 'vitest';
import { cleanup } from '@testing-library/react';
import { sessionStore } from '../api';

// jsdom has no modal dialogs: open them as plain ones.
if (typeof HTMLDialogElement !== 'undefined' && !HTMLDialogElement.prototype.showModal) {
  HTMLDialogElement.prototype.showModal = function showModal(this: HTMLDialogElement) {
    this.setAttribute('open', '');
  };
}

afterEach(() => {
  cleanup();
  sessionStore.set(null);
  localStorage.clear();
});
