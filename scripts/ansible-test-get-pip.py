"""Stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test downloads get-pip.py from ci-files.testing.ansible.com to put pip
into the virtual environments of its sanity tests; this machine reaches PyPI
only.  This script does the same job from PyPI: it takes get-pip's arguments
(pip options and package specifiers), puts pip in place with the standard
library's ensurepip, then installs the requested packages.  `make setup`
copies it where ansible-test looks for its cached bootstrap script.
"""

import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}


def main(argv):
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
    options = [arg for arg in argv if arg not in GET_PIP_ONLY]
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + options)


if __name__ == "__main__":
    main(sys.argv[1:])
