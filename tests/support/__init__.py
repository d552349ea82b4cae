"""What the tests share: paths (paths.py), generated data and tiny configs (fakes.py), the import graph the house rules
read (imports.py), and the browser driver (browser.py)."""
