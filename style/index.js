import './base.css';
import './pages.css';
import './model-page.css';
import './admin.css';
