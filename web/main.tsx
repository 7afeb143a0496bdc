import { render } from 'preact';
import { App } from './app.tsx';
import { locale } from './i18n.ts';
import './styles.css';

document.documentElement.lang = locale.value;
render(<App />, document.getElementById('app')!);
