import sys

from demo.consortium import main

sys.exit(main())
