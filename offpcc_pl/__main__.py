from offpcc_pl.cli import main

main()
