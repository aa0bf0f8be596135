from varlint.cli import main

main()
