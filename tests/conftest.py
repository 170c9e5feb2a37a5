import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # the independent references in tests/reference.py
