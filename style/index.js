import './base.css';
import './model-page.css';
