"""Flask extensions shared by the blueprints (created here, bound in init_web)."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# No default limit: only the login form is limited (see web/auth.py).
limiter = Limiter(key_func=get_remote_address, default_limits=[])
