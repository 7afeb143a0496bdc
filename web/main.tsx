import { render } from 'preact';
import { App } from './app.tsx';
import { locale } from './i18n.ts';
import './styles.css';

document.documentElement.lang = locale.value;
const root = document.getElementById('app')!;
// The shell's "loading" line (index.html) goes first: Preact 11 renders beside what the
// container holds, and a page whose first element is not a <p> (the recipient's) kept it.
root.replaceChildren();
render(<App />, root);
